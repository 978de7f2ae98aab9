"""Service levels as engineers see them in the admin: the case list's "Next target"
column and filter, the case page's Service level panel, and the Service levels report.

Reads only: the clock itself lives in `cases.service_levels`. Times are shown through
`portal.timefmt`, like the rest of the admin.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.utils import timezone
from django.utils.html import format_html

from cases.admin import queues
from cases.charts import DayAttainment, attainment_text
from cases.models import (
    OPEN_OUTCOMES,
    Case,
    Coverage,
    Priority,
    ResponseTarget,
    TargetKind,
    TargetOutcome,
)
from cases.presenters import duration_text
from portal import timefmt

# --- Time left ------------------------------------------------------------------------


def short_duration(duration: timedelta) -> str:
    """`2 d 3 h`, `2 h 10 min`, `25 min`, `less than 1 min`: two units at most, rounded
    down, for a list column."""
    minutes = int(duration.total_seconds() // 60)
    if minutes < 1:
        return "less than 1 min"
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{minutes} min"


def time_left(due_at: datetime, now: datetime) -> tuple[str, bool]:
    """(`in 2 h 10 min`, False) before the due time; (`overdue by 25 min`, True) after.
    Due exactly now is not overdue yet: a breach is a due time in the past."""
    if due_at >= now:
        return f"in {short_duration(due_at - now)}", False
    return f"overdue by {short_duration(now - due_at)}", True


def next_target_cell(case: Case, now: datetime) -> str:
    """The list's cell: empty while no target runs; overdue in bold with a warning sign
    and its own class (never colour alone)."""
    if case.response_due_at is None:
        return ""
    text, overdue = time_left(case.response_due_at, now)
    due = timefmt.display(case.response_due_at)
    if overdue:
        return format_html('<strong class="sla-overdue" title="Due {}">⚠ {}</strong>', due, text)
    return format_html('<span class="sla-due" title="Due {}">{}</span>', due, text)


# --- The case list's filter -----------------------------------------------------------


def end_of_today(now: datetime) -> datetime:
    """Midnight at the end of `now`'s day where the engineer reads it (timefmt.zone())."""
    zone = timefmt.zone()
    tomorrow = timezone.localtime(now, zone).date() + timedelta(days=1)
    return datetime.combine(tomorrow, datetime.min.time(), tzinfo=zone)


class NextTargetFilter(admin.SimpleListFilter):
    """Cases by their running target's due time (`response_due_at`, from the targets'
    index `response_target_running_due`). Breached is due before now; due within 1 hour
    and due today are not breached yet; breaching is both within the hour and breached
    (the Breaching queue)."""

    title = "next target"
    parameter_name = "next_target"
    BREACHED, WITHIN_HOUR, TODAY = "breached", "within_hour", "today"
    BREACHING = "breaching"

    def lookups(self, request, model_admin):
        return [
            (self.BREACHED, "Breached"),
            (self.WITHIN_HOUR, "Due within 1 hour"),
            (self.TODAY, "Due today"),
            (self.BREACHING, "Breached or due within 1 hour"),
        ]

    def queryset(self, request, queryset):
        value = self.value()
        if not value:
            return queryset
        now = timezone.now()
        if value == self.BREACHED:
            return queryset.filter(response_due_at__lt=now)
        if value == self.WITHIN_HOUR:
            return queryset.filter(
                response_due_at__gte=now, response_due_at__lt=now + timedelta(hours=1)
            )
        if value == self.BREACHING:
            return queryset.filter(queues.breaching_within(now))
        if value == self.TODAY:
            return queryset.filter(response_due_at__gte=now, response_due_at__lt=end_of_today(now))
        raise IncorrectLookupParameters(f"Not a next-target filter: {value!r}")


# --- The case page's panel ------------------------------------------------------------

OUTCOME_LABELS = dict(TargetOutcome.choices)
KIND_LABELS = dict(TargetKind.choices)
PRIORITY_LABELS = dict(Priority.choices)


@dataclass(frozen=True)
class TargetLine:
    """One target of the case, as the panel's table shows it."""

    kind: str
    outcome: str  # TargetOutcome value, or "overdue" for a running target past due
    outcome_label: str
    terms: str  # `Business plan, P2 High: 4 hours, business hours`
    started: str
    due: str
    ended: str


@dataclass(frozen=True)
class RunningClock:
    kind: str
    started: str
    paused: bool
    due: str = ""
    due_iso: str = ""
    left: str = ""
    overdue: bool = False
    used: str = ""  # while paused: covered time used of the target
    target: str = ""


@dataclass(frozen=True)
class ServiceLevelPanel:
    plan: str
    priority: str
    coverage: str
    clock: RunningClock | None
    targets: list[TargetLine]


def coverage_text(coverage: str, organisation) -> str:
    """`24×7`, or business hours with the organisation's zone and holiday country."""
    if coverage != Coverage.BUSINESS_HOURS:
        return str(Coverage.ALWAYS.label)
    zone = organisation.time_zone or f"{settings.TIME_ZONE} (the portal's)"
    holidays = (
        f"less the public holidays of {organisation.holiday_country}"
        if organisation.holiday_country
        else "no public holidays set"
    )
    return f"Business hours, Monday to Friday 09:00–17:00 {zone}, {holidays}"


def _is_overdue(target: ResponseTarget, now: datetime) -> bool:
    return target.outcome == TargetOutcome.RUNNING and (
        target.breached_at is not None or (target.due_at is not None and target.due_at < now)
    )


def _line(target: ResponseTarget, now: datetime) -> TargetLine:
    overdue = _is_overdue(target, now)
    outcome_label = OUTCOME_LABELS[target.outcome]
    if overdue:
        outcome_label = "Running, overdue"
    elif target.outcome == TargetOutcome.MISSED and target.breached_at:
        outcome_label = f"Missed (due {timefmt.display(target.breached_at)})"
    terms = (
        f"{target.plan.name} plan, {PRIORITY_LABELS[target.priority]}: "
        f"{duration_text(target.target)}, {Coverage(target.coverage).label}"
    )
    return TargetLine(
        kind=KIND_LABELS[target.kind],
        outcome="overdue" if overdue else target.outcome,
        outcome_label=outcome_label,
        terms=terms,
        started=timefmt.display(target.started_at),
        due=timefmt.display(target.due_at),
        ended=timefmt.display(target.ended_at),
    )


def _clock(target: ResponseTarget, now: datetime) -> RunningClock:
    kind = KIND_LABELS[target.kind]
    started = timefmt.display(target.started_at)
    if target.outcome == TargetOutcome.PAUSED:
        return RunningClock(
            kind=kind,
            started=started,
            paused=True,
            used=duration_text(target.covered_before_run),
            target=duration_text(target.target),
        )
    left, overdue = time_left(target.due_at, now) if target.due_at else ("", False)
    return RunningClock(
        kind=kind,
        started=started,
        paused=False,
        due=timefmt.display(target.due_at),
        due_iso=timefmt.iso(target.due_at),
        left=left,
        overdue=overdue or target.breached_at is not None,
        target=duration_text(target.target),
    )


def service_level_panel(
    case: Case, targets: list[ResponseTarget], now: datetime
) -> ServiceLevelPanel:
    """The panel from the case's targets (`selectors.case_response_targets`): the terms
    of the open target, else of the latest; the open target's clock; every target."""
    open_target = next((t for t in targets if t.outcome in OPEN_OUTCOMES), None)
    current = open_target or (targets[-1] if targets else None)
    if current is None:
        plan = case.organisation.service_plan
        return ServiceLevelPanel(
            plan=plan.name if plan else "none",
            priority=case.get_priority_display(),
            coverage="—",
            clock=None,
            targets=[],
        )
    return ServiceLevelPanel(
        plan=current.plan.name,
        priority=PRIORITY_LABELS[current.priority],
        coverage=coverage_text(current.coverage, case.organisation),
        clock=_clock(open_target, now) if open_target else None,
        targets=[_line(target, now) for target in targets],
    )


# --- The Service levels report --------------------------------------------------------


@dataclass
class Tally:
    met: int = 0
    missed: int = 0
    running: int = 0
    stopped: int = 0

    def add(self, state: str, count: int) -> None:
        setattr(self, state, getattr(self, state) + count)

    @property
    def attainment(self) -> str:
        return attainment_text(self.met, self.missed)

    @property
    def finished_text(self) -> str:
        """`4 of 5 met`, or `none finished`."""
        finished = self.met + self.missed
        return f"{self.met} of {finished} met" if finished else "none finished"


@dataclass
class ReportRow:
    plan: str
    priority: str
    all: Tally
    first_response: Tally
    next_update: Tally


def report_rows(per_terms: list[dict]) -> tuple[list[ReportRow], ReportRow]:
    """One row per plan and priority (plans in their order), and the total row."""
    rows: dict[tuple, ReportRow] = {}
    total = ReportRow("All plans", "", Tally(), Tally(), Tally())
    for group in per_terms:
        key = (group["plan__position"], group["plan__name"], group["priority"])
        row = rows.get(key)
        if row is None:
            row = rows[key] = ReportRow(
                group["plan__name"],
                PRIORITY_LABELS[group["priority"]],
                Tally(),
                Tally(),
                Tally(),
            )
        for each in (row, total):
            each.all.add(group["state"], group["count"])
            getattr(each, group["kind"]).add(group["state"], group["count"])
    return [rows[key] for key in sorted(rows)], total


def report_days(per_day: list[dict], first_day: date, last_day: date) -> list[DayAttainment]:
    """Every day of the window, in order, with its met and missed targets."""
    counts: dict[date, dict[str, int]] = {}
    for group in per_day:
        day = group["day"]
        counts.setdefault(day, {})[group["state"]] = group["count"]
    days = []
    day = first_day
    while day <= last_day:
        found = counts.get(day, {})
        days.append(DayAttainment(day, met=found.get("met", 0), missed=found.get("missed", 0)))
        day += timedelta(days=1)
    return days
