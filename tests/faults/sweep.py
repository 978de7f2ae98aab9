"""Helpers for the sweep scenarios: cases made due in the past, sweep results from logs."""

from __future__ import annotations

import ast
import re
from datetime import timedelta

import time_machine
from django.utils import timezone

from tests import journeys

SWEEP_DONE = re.compile(
    r"Task cases\.tasks\.close_stale_cases_task\[[^\]]+\] succeeded in [\d.e-]+s: (\[.*\])"
)


def cases_due_at(when, *, engineer, customers, resolved: int = 0) -> list:
    """Pending Customer cases (and `resolved` Resolved ones) whose clock runs out at `when`."""
    cases = []
    pending_start = when - timedelta(days=14)
    with time_machine.travel(pending_start, tick=True):
        for person in customers:
            cases.append(journeys.pending_customer(person, engineer))
    with time_machine.travel(when - timedelta(days=7), tick=True):
        for person in customers[:resolved]:
            cases.append(journeys.resolved(person, engineer))
    return cases


def overdue(*, engineer, customers, resolved: int = 0) -> list:
    return cases_due_at(
        timezone.now() - timedelta(hours=1),
        engineer=engineer,
        customers=customers,
        resolved=resolved,
    )


def sweep_results(log_text: str) -> list[list[str]]:
    """The references closed by each finished sweep, in the order the worker logged them."""
    return [ast.literal_eval(match) for match in SWEEP_DONE.findall(log_text)]
