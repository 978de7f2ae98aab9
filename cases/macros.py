"""Filling a macro's placeholders for one case and one engineer.

The result is plain text for the reply box (the case page puts it in a textarea's value,
never into HTML), so values are not HTML-escaped here; the thread escapes the message
when it is shown, as for any typed reply.
"""

from __future__ import annotations

import re
from datetime import datetime

from django.utils import timezone

from cases.models import Case, Macro, MacroAction, Status
from cases.policy import auto_close_deadline
from portal import timefmt

PLACEHOLDERS: dict[str, str] = {
    "customer_first_name": "the customer's first name ('there' when unknown)",
    "reference": "the case reference, e.g. CS-1042",
    "engineer_name": "your name",
    "auto_close_date": "the day the case closes by itself (after the paired action)",
}

# `{{` and `}}` are literal braces; anything else between braces is a placeholder.
_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}")


def unknown_placeholders(body: str) -> list[str]:
    """The placeholders in `body` that no macro can fill, in order, each once."""
    unknown: list[str] = []
    for match in _TOKEN.finditer(body):
        name = match.group(1)
        if name is not None and name not in PLACEHOLDERS and name not in unknown:
            unknown.append(name)
    return unknown


def _auto_close_after(macro: Macro, case: Case, now: datetime) -> datetime | None:
    """The close date the customer will be told about: the clock the paired action
    starts if it is pressed now, else the case's running clock."""
    if macro.action == MacroAction.REQUEST_INFO:
        return auto_close_deadline(Status.PENDING_CUSTOMER, now, None)
    if macro.action == MacroAction.RESOLVE:
        return auto_close_deadline(Status.RESOLVED, None, now)
    return case.auto_close_at


def placeholder_values(
    macro: Macro, case: Case, engineer, now: datetime | None = None
) -> dict[str, str]:
    now = now or timezone.now()
    customer = case.requester
    first_name = (customer.full_name.split() or ["there"])[0]
    closes_at = _auto_close_after(macro, case, now)
    # The day as the customer reads it: in their zone.
    with timezone.override(customer.shown_zone):
        auto_close_date = timefmt.display_date(closes_at)
    return {
        "customer_first_name": first_name,
        "reference": case.reference,
        "engineer_name": engineer.full_name or engineer.email,
        "auto_close_date": auto_close_date,
    }


def render_macro(macro: Macro, case: Case, engineer, now: datetime | None = None) -> str:
    """The macro's text for this case and engineer. An unknown placeholder (saved before
    validation, or by hand in the database) is left as written for the engineer to see."""
    values = placeholder_values(macro, case, engineer, now)

    def fill(match: re.Match) -> str:
        token = match.group(0)
        if token in ("{{", "}}"):
            return token[0]
        return values.get(match.group(1), token)

    return _TOKEN.sub(fill, macro.body)
