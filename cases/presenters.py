"""What one row of My Cases shows, worked out once in Python.

My Cases renders a page of rows on every visit. Building model instances and resolving
the same lookups, URLs and date formats through the template engine for every row
cost several times more than the queries behind the page, so rows come from
`selectors.case_rows_for_customer` as plain values and their text is prepared here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from cases.policy import closed_for_no_reply_text, closes_by_itself_at
from portal import timefmt

from .models import (
    STATUS_INFO,
    Case,
    Coverage,
    InfoRequestKind,
    Priority,
    Status,
    customer_transitions_by_status,
)

PRIORITY_LABELS = dict(Priority.choices)
# Where a response target runs: `cases.service_levels.WAITING_ON_US` (which imports this
# module for its texts, so it is not imported here; a test holds the two equal).
WAITING_ON_US = frozenset({Status.NEW, Status.OPEN, Status.IN_PROGRESS})
INFO_REQUEST_LABELS = dict(InfoRequestKind.choices)


def _name(full_name: str | None, email: str | None) -> str:
    return full_name or email or ""


@dataclass(frozen=True)
class CaseRow:
    reference: str
    subject: str
    status: str
    status_label: str
    priority_label: str
    url: str
    mark_resolved_url: str
    updated_iso: str
    updated_display: str
    opened_by: str  # who opened it, when that is someone else (shared, organisation's)
    can_mark_resolved: bool
    can_confirm: bool
    confirm_url: str
    # The "Action required" line of Pending Customer and Resolved cases.
    action_required: bool
    action_text: str
    asked_by: str
    asked_for: str
    is_approval: bool
    auto_close_iso: str
    auto_close_display: str
    closed_note: str  # why a Closed case closed, when that is not the usual meaning
    # The running response target: when we aim to reply ("" when none runs), and whether
    # that time has passed.
    response_due_iso: str
    response_due_display: str
    response_overdue: bool


def case_rows(values: Iterable[dict], *, user, show_opener: bool) -> list[CaseRow]:
    """Rows for My Cases from `selectors.CASE_ROW_FIELDS` values; `show_opener` names
    who opened the cases someone else opened."""
    # Every case URL has one shape: reverse it once, then put each reference in.
    placeholder = f"{Case.REFERENCE_PREFIX}0"
    detail_url = reverse("cases:detail", kwargs={"reference": placeholder})
    resolve_url = reverse("cases:mark_resolved", kwargs={"reference": placeholder})
    confirm_url = reverse("cases:confirm", kwargs={"reference": placeholder})
    # Every row is the user's as a customer: the state machine's answer per status.
    allowed = customer_transitions_by_status(user)
    shown_in = timefmt.zone()
    now = timezone.now()
    rows = []
    for case in values:
        reference = Case.reference_for(case["id"])
        status = case["status"]
        info = STATUS_INFO[status]
        is_pending = status == Status.PENDING_CUSTOMER
        deadline = closes_by_itself_at(
            status, case["pending_since"], case["resolved_at"], case["auto_close_held_reason"]
        )
        response_due = case["response_due_at"] if status in WAITING_ON_US else None
        rows.append(
            CaseRow(
                reference=reference,
                subject=case["subject"],
                status=status,
                status_label=info.label,
                priority_label=PRIORITY_LABELS[case["priority"]],
                url=detail_url.replace(placeholder, reference),
                mark_resolved_url=resolve_url.replace(placeholder, reference),
                updated_iso=timefmt.iso(case["last_activity_at"], shown_in),
                updated_display=timefmt.display(case["last_activity_at"], shown_in),
                opened_by=_name(case["requester__full_name"], case["requester__email"])
                if show_opener and case["requester_id"] != user.pk
                else "",
                can_mark_resolved="mark_resolved" in allowed[status],
                can_confirm="confirm" in allowed[status],
                confirm_url=confirm_url.replace(placeholder, reference),
                action_required=info.action_required,
                action_text=info.action,
                asked_by=_name(case["assignee__full_name"], case["assignee__email"])
                if is_pending
                else "",
                asked_for=INFO_REQUEST_LABELS.get(case["info_request_kind"], "").lower()
                if is_pending
                else "",
                is_approval=is_pending and case["info_request_kind"] == InfoRequestKind.APPROVAL,
                auto_close_iso=timefmt.iso(deadline, shown_in),
                auto_close_display=timefmt.display(deadline, shown_in),
                closed_note=closed_for_no_reply_text() if case["closed_for_no_reply"] else "",
                response_due_iso=timefmt.iso(response_due, shown_in),
                response_due_display=timefmt.display_near(response_due, shown_in),
                response_overdue=response_due is not None and response_due < now,
            )
        )
    return rows


# --- The case page ----------------------------------------------------------------------


@dataclass(frozen=True)
class ResponsePromise:
    """When we aim to reply on a case whose response target runs."""

    due_iso: str
    due_display: str
    overdue: bool
    terms: str  # "Business plan, P2"; "" when the plan is not known


def response_promise(case: Case) -> ResponsePromise | None:
    """The case page's promise: None unless a target runs (the case waits on us).

    `case` comes from `selectors.case_get_for_customer`, which reads the plan's name
    with it (`response_plan_name`)."""
    due = case.response_due_at
    if due is None or case.status not in WAITING_ON_US:
        return None
    plan_name = getattr(case, "response_plan_name", None)
    priority = Priority(case.priority).name  # "P2": the label's short form
    return ResponsePromise(
        due_iso=timefmt.iso(due),
        due_display=timefmt.display_near(due),
        overdue=due < timezone.now(),
        terms=f"{plan_name} plan, {priority}" if plan_name else "",
    )


# --- The help centre's service-level pages ----------------------------------------------


def duration_text(duration: timedelta) -> str:
    """`15 minutes`, `1 hour`, `16 hours`, `1 hour 30 minutes`."""
    minutes = int(duration.total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    parts = []
    if hours:
        parts.append(f"{hours} hour{'s' if hours != 1 else ''}")
    if minutes or not hours:
        parts.append(f"{minutes} minute{'s' if minutes != 1 else ''}")
    return " ".join(parts)


@dataclass(frozen=True)
class TargetCell:
    first_response: str
    next_update: str
    coverage: str
    business_hours: bool


@dataclass(frozen=True)
class PriorityRow:
    priority: int
    label: str
    definition: str
    examples: list[str]
    cells: list[TargetCell | None]  # one per plan, in the plans' order; None: no target


def service_level_rows(priorities, plans) -> list[PriorityRow]:
    """One row per priority with what each plan promises for it, for the help pages."""
    definitions = {level.priority: level for level in priorities}
    rows = []
    for priority, label in Priority.choices:
        level = definitions.get(priority)
        cells = []
        for plan in plans:
            target = next((t for t in plan.targets.all() if t.priority == priority), None)
            cells.append(
                TargetCell(
                    first_response=duration_text(target.first_response),
                    next_update=duration_text(target.next_update),
                    coverage=target.get_coverage_display(),
                    business_hours=target.coverage == Coverage.BUSINESS_HOURS,
                )
                if target
                else None
            )
        rows.append(
            PriorityRow(
                priority=priority,
                label=label,
                definition=level.definition if level else "",
                examples=level.example_list if level else [],
                cells=cells,
            )
        )
    return rows
