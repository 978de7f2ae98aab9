"""Celery tasks: thin wrappers that take ids and call one domain function each."""

from __future__ import annotations

import time

from celery import shared_task

from portal.monitoring import sweeps

from . import outbox, service_levels, services


# The row counts attempts (a relayed task starts again at retries=0): it decides when to
# give up, so Celery's own limit is off.
@shared_task(bind=True, max_retries=None, acks_late=True)
def send_notification(self, notification_id: int) -> str:
    """Send one outbox row; temporary provider errors come back with backoff and jitter.

    If the retry cannot be published (broker down), the row stays queued with its next
    attempt time and the relay picks it up.
    """
    result = outbox.deliver(notification_id)
    if result.outcome is outbox.Outcome.RETRY:
        raise self.retry(countdown=result.retry_in)
    return result.outcome.value


@shared_task(acks_late=True)
def send_notifications_task(notification_ids: list[int]) -> int:
    """Send a batch of outbox rows (the sweep's emails); each failure retries on its own."""
    results = outbox.deliver_many(notification_ids)
    for result in results:
        if result.outcome is outbox.Outcome.RETRY:
            send_notification.apply_async((result.notification_id,), countdown=result.retry_in)
    return sum(result.outcome is outbox.Outcome.SENT for result in results)


@shared_task(acks_late=True)
def relay_notifications_task() -> int:
    return outbox.relay_unsent()


@shared_task(acks_late=True)
def close_stale_cases_task() -> list[str]:
    started = time.monotonic()
    closed = services.close_stale_cases()
    # Beat's heartbeat for /health/, and the sweep's metrics.
    sweeps.record_completed(duration_seconds=time.monotonic() - started, closed=len(closed))
    return [case.reference for case in closed]


@shared_task(acks_late=True)
def send_reminders_task() -> int:
    return services.send_due_reminders()


@shared_task(acks_late=True)
def send_daily_digests_task() -> int:
    return services.send_daily_digests()


@shared_task(acks_late=True)
def check_service_levels_task() -> dict[str, int]:
    result = services.check_service_levels()
    return {"warned": result.warned, "breached": result.breached}


@shared_task(acks_late=True)
def recompute_service_levels_task(
    *, because: str, organisation_ids: list[int] | None = None, plan_ids: list[int] | None = None
) -> int:
    return service_levels.recompute_many(
        organisation_ids=organisation_ids, plan_ids=plan_ids, because=because
    )
