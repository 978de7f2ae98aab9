"""The record of the last completed auto-close sweep: beat's heartbeat.

Beat queues `cases.tasks.close_stale_cases_task` every CASE_SWEEP_INTERVAL_SECONDS;
each completed run writes when it finished, how long it took and how many cases it
closed to the shared cache (Redis in production, files under var/ on one machine),
where `/health/` and `/metrics` read it from any process. A failed run writes nothing.

The cache may have lost the record (a fresh system, a flushed or restarted cache): the
first probe that finds none starts a grace period of twice the interval from then.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

logger = logging.getLogger(__name__)

RECORD_KEY = "monitoring:case-sweep:last"
WATCHING_SINCE_KEY = "monitoring:case-sweep:watching-since"


@dataclass(frozen=True)
class SweepRecord:
    finished_at: datetime
    duration_seconds: float
    closed: int


def allowed_gap() -> timedelta:
    """How long without a completed sweep is still healthy: two intervals, so one late
    or slow run is not an alarm."""
    return timedelta(seconds=2 * settings.CASE_SWEEP_INTERVAL_SECONDS)


def record_completed(*, duration_seconds: float, closed: int) -> None:
    """Count a completed sweep in the metrics and keep it as the last one.

    Never raises: the cases are closed already, and a cache outage is reported by the
    cache's own health check.
    """
    from portal.monitoring import metrics

    metrics.SWEEP_DURATION.observe(duration_seconds)
    metrics.AUTO_CLOSED.inc(closed)
    record = {
        "finished_at": timezone.now().timestamp(),
        "duration_seconds": duration_seconds,
        "closed": closed,
    }
    try:
        cache.set(RECORD_KEY, record, timeout=None)
        # Should the record be lost later, the next grace period starts then.
        cache.delete(WATCHING_SINCE_KEY)
    except Exception:
        logger.warning("Could not record the completed auto-close sweep", exc_info=True)


def last_completed() -> SweepRecord | None:
    record = cache.get(RECORD_KEY)
    if not isinstance(record, dict):
        return None
    return SweepRecord(
        finished_at=datetime.fromtimestamp(record["finished_at"], tz=UTC),
        duration_seconds=record["duration_seconds"],
        closed=record["closed"],
    )


def watching_since(now: datetime) -> datetime:
    """When probes first found no sweep record: the start of the grace period."""
    cache.add(WATCHING_SINCE_KEY, now.timestamp(), timeout=None)
    started = cache.get(WATCHING_SINCE_KEY)
    return datetime.fromtimestamp(started, tz=UTC) if started else now
