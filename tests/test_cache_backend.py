"""The cache's Redis backend: an outage costs speed, never a failed request."""

from __future__ import annotations

import logging
import socket
import time

import pytest
from django.core.cache.backends.redis import RedisCache

from portal import cache as portal_cache
from portal.cache import ForgivingRedisCache

TIMEOUTS = {"socket_connect_timeout": 0.25, "socket_timeout": 0.25}


def backend(location: str) -> ForgivingRedisCache:
    return ForgivingRedisCache(location, {"OPTIONS": TIMEOUTS})


@pytest.fixture
def refused() -> ForgivingRedisCache:
    return backend("redis://127.0.0.1:1/0")  # nothing listens on port 1


@pytest.fixture
def hung():
    """A server that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    yield backend(f"redis://127.0.0.1:{server.getsockname()[1]}/0")
    server.close()


def test_every_operation_falls_back_when_redis_refuses(refused, caplog):
    with caplog.at_level(logging.WARNING, logger="portal.cache"):
        assert refused.get("k", "default") == "default"
        refused.set("k", "v")
        assert refused.add("k", "v") is False
        assert refused.get_many(["k"]) == {}
        assert refused.get_or_set("k", "fresh") == "fresh"
        refused.delete_many(["k"])
        assert refused.delete("k") is False

    assert "going on without the cache" in caplog.text


def test_after_a_failure_reads_skip_redis_for_a_while(refused, monkeypatch):
    calls = []
    real_get = RedisCache.get

    def counting_get(self, *args, **kwargs):
        calls.append(args)
        return real_get(self, *args, **kwargs)

    monkeypatch.setattr(RedisCache, "get", counting_get)
    now = [1000.0]
    monkeypatch.setattr(portal_cache.time, "monotonic", lambda: now[0])

    refused.get("k")
    refused.get("k")
    refused.set("k", "v")
    assert len(calls) == 1

    now[0] += portal_cache.RETRY_AFTER + 0.1
    refused.get("k")
    assert len(calls) == 2


def test_deletes_are_tried_even_while_reads_skip_redis(refused, monkeypatch):
    """A delete is what makes a changed case's pages render afresh."""
    deletes = []
    monkeypatch.setattr(
        RedisCache, "delete_many", lambda self, keys, version=None: deletes.append(keys)
    )

    refused.get("k")  # fails: reads now skip Redis
    refused.delete_many(["generation"])

    assert deletes == [["generation"]]


def test_a_hung_redis_costs_one_timeout_not_one_per_call(hung):
    started = time.monotonic()
    assert hung.get("k") is None
    first = time.monotonic() - started

    started = time.monotonic()
    for _ in range(20):
        hung.get("k")
        hung.set("k", "v")
    rest = time.monotonic() - started

    assert first < 1.0
    assert rest < 0.1
