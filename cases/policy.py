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
