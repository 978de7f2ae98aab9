"""The clocks: when a case closes by itself and when its customer is reminded.

Everything that shows, queries or acts on a deadline asks here; nothing else adds a
duration to a timestamp.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings

from cases.models.status import Status


def closed_for_no_reply_text() -> str:
    """What a case closed for want of a reply says instead of "archived after resolution"."""
    return f"Closed: no reply within {settings.CASE_PENDING_CUSTOMER_AUTO_CLOSE_DAYS} days"


def pending_customer_timeout() -> timedelta:
    return timedelta(days=settings.CASE_PENDING_CUSTOMER_AUTO_CLOSE_DAYS)


def resolved_timeout() -> timedelta:
    return timedelta(days=settings.CASE_RESOLVED_AUTO_CLOSE_DAYS)


def auto_close_deadline(
    status: str, pending_since: datetime | None, resolved_at: datetime | None
) -> datetime | None:
    """The closure policy: when a case in `status` closes by itself, if ever."""
    if status == Status.PENDING_CUSTOMER and pending_since:
        return pending_since + pending_customer_timeout()
    if status == Status.RESOLVED and resolved_at:
        return resolved_at + resolved_timeout()
    return None


def closes_by_itself_at(
    status: str, pending_since: datetime | None, resolved_at: datetime | None, held_reason: str
) -> datetime | None:
    """When the case will really close by itself: never while held (e.g. the question
    bounced, so the customer never saw it)."""
    if held_reason:
        return None
    return auto_close_deadline(status, pending_since, resolved_at)


def is_auto_close_due(
    status: str,
    pending_since: datetime | None,
    resolved_at: datetime | None,
    held_reason: str,
    now: datetime,
) -> bool:
    deadline = closes_by_itself_at(status, pending_since, resolved_at, held_reason)
    return deadline is not None and now >= deadline


def auto_close_reason(status: str) -> str:
    """The history entry's reason for an automatic close."""
    if status == Status.PENDING_CUSTOMER:
        days = settings.CASE_PENDING_CUSTOMER_AUTO_CLOSE_DAYS
        return f"No reply for {days} days on Pending Customer"
    return f"Resolved with no objection for {settings.CASE_RESOLVED_AUTO_CLOSE_DAYS} days"


def reminder_days_before() -> list[int]:
    """How many days before the automatic close the customer is reminded, e.g. [1, 7]."""
    return sorted(settings.CASE_REMINDER_DAYS_BEFORE)


def reminders_due(deadline: datetime, now: datetime) -> list[int]:
    """The reminder thresholds (days before `deadline`) that have been reached by `now`."""
    return [days for days in reminder_days_before() if now >= deadline - timedelta(days=days)]
