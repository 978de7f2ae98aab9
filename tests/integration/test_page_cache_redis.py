"""Customer pages cached in a real Redis, changed by a real worker.

In production the page cache is Redis, shared by the web processes and the workers: the
sweep closing a case in a worker must reach the My Cases page the web cached.
"""

from __future__ import annotations

import os
import re

import pytest
import redis
from django.core.cache import cache

from cases.models import Case, Status
from cases.tasks import close_stale_cases_task
from tests.factories import CaseFactory, days
from tests.integration.conftest import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("celery")]

CACHE_URL = os.environ.get("TEST_CACHE_URL", "redis://127.0.0.1:6379/12")


@pytest.fixture
def redis_page_cache(settings):
    # Test databases of parallel test processes reuse ids: one key space each.
    prefix = f"portal-tests-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
    settings.CACHES = {
        "default": {
            "BACKEND": "portal.cache.ForgivingRedisCache",
            "LOCATION": CACHE_URL,
            "KEY_PREFIX": prefix,
        }
    }
    yield
    client = redis.Redis.from_url(CACHE_URL)
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)


def row_status(page: str, case: Case) -> str:
    return re.search(rf'data-case-reference="{case.reference}" data-case-status="(\w+)"', page)[1]


def test_my_cases_cached_in_redis_shows_the_close_a_worker_made(
    redis_page_cache, celery_worker, client, time_machine
):
    time_machine.move_to("2026-06-01 10:00:00+00:00", tick=True)
    case = CaseFactory(resolved=True)
    client.force_login(case.requester)
    time_machine.shift(days(8))
    assert row_status(client.get("/cases/?status=all").content.decode(), case) == Status.RESOLVED
    assert redis.Redis.from_url(CACHE_URL).keys(f"{cache.key_prefix}:*")  # cached in Redis

    close_stale_cases_task.delay()
    wait_until(lambda: Case.objects.get(pk=case.pk).status == Status.CLOSED)

    assert row_status(client.get("/cases/?status=all").content.decode(), case) == Status.CLOSED
