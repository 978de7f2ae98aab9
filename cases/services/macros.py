"""Macro bookkeeping: a macro counts as used when the message it filled is sent."""

from __future__ import annotations

from django.db.models import F
from django.utils import timezone

from cases.models import Macro


def macro_used(macro_id: int | None) -> None:
    """Count one use; call inside the transaction that sends the message, so that a
    refused send counts nothing. A macro deleted meanwhile is not an error."""
    if macro_id is None:
        return
    Macro.objects.filter(pk=macro_id).update(
        usage_count=F("usage_count") + 1, last_used_at=timezone.now()
    )
