"""The service-level clock: the one place that starts, pauses, meets and recomputes the
response targets on a case (`ResponseTarget` rows; the running one's `due_at` is when a
reply is due, `Case.response_due_at`).

- **First response** runs from opening until the first public reply by an engineer.
- **Next update** runs from a customer's message (reply, reopen, approval answer) that
  finds no target running, until the next public reply by an engineer. A second message
  before that reply does not move the promise further out.
- A target runs only while the case waits on us (New, Open, In Progress). Pending
  Customer and Resolved pause it: the covered time spent so far is kept and the rest
  counts from when the case is back with us. Closing the case stops it.
- Time counts only inside the plan's coverage (`cases.coverage`), in the organisation's
  time zone and less its public holidays.
- A change of priority, plan, time zone or holidays recomputes the open target from
  its own start under the new terms (so a P1 raised at night on a plan that covers P1
  around the clock is due within the hour, not the next morning), with a history entry.

The services call these functions on a case they hold locked, inside their transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from cases.coverage import Coverage as CoverageClock
from cases.models import (
    OPEN_OUTCOMES,
    Actor,
    Case,
    CaseEvent,
    Coverage,
    Plan,
    PlanTarget,
    Priority,
    ResponseTarget,
    Status,
    TargetKind,
    TargetOutcome,
)

logger = logging.getLogger(__name__)

# The statuses in which the case waits on us, so its target runs.
WAITING_ON_US = frozenset({Status.NEW, Status.OPEN, Status.IN_PROGRESS})
ZERO = timedelta(0)


@dataclass(frozen=True)
class Terms:
    """What a case is promised now: its plan's target for its priority, and when time counts."""

    plan: Plan
    target: PlanTarget | None
    clock: CoverageClock

    def duration(self, kind: str) -> timedelta | None:
        if self.target is None:
            return None
        if kind == TargetKind.FIRST_RESPONSE:
            return self.target.first_response
        return self.target.next_update


def terms_for(case: Case) -> Terms | None:
    """The terms of `case` under the live policy; None when there is no plan at all."""
    organisation = case.organisation
    plan = organisation.service_plan
    if plan is None:
        return None
    target = next((t for t in _targets_of(plan) if t.priority == case.priority), None)
    business_hours = target is not None and target.coverage == Coverage.BUSINESS_HOURS
    return Terms(plan, target, organisation.coverage(business_hours=business_hours))


def _targets_of(plan: Plan) -> list[PlanTarget]:
    cached = getattr(plan, "_service_level_targets", None)
    if cached is None:
        cached = plan._service_level_targets = list(plan.targets.all())
    return cached


def warn_fraction() -> float:
    """How far into a target the warning goes out (SERVICE_LEVEL_WARN_AT_PERCENT)."""
    return settings.SERVICE_LEVEL_WARN_AT_PERCENT / 100


# --- Reading ------------------------------------------------------------------------


def open_target(case: Case) -> ResponseTarget | None:
    """The running or paused target of `case`, if any (at most one exists)."""
    return (
        ResponseTarget.objects.select_related("plan")
        .filter(case=case, outcome__in=OPEN_OUTCOMES)
        .first()
    )


def covered_so_far(target: ResponseTarget, clock: CoverageClock, now: datetime) -> timedelta:
    """The covered time a target has used up by `now`."""
    if target.outcome != TargetOutcome.RUNNING:
        return target.covered_before_run
    return target.covered_before_run + clock.covered_between(target.run_started_at, now)


# --- Scheduling one target -------------------------------------------------------------


def _schedule(target: ResponseTarget, clock: CoverageClock) -> None:
    """Set when a running target falls due and when its warning goes out."""
    target.due_at, target.warn_at = _due_and_warn(
        clock,
        target.run_started_at,
        target.target,
        target.covered_before_run,
        target.warned_at,
        target.warn_at,
    )


def _due_and_warn(
    clock: CoverageClock,
    run_started_at: datetime,
    duration: timedelta,
    covered_before_run: timedelta,
    warned_at: datetime | None,
    warn_at: datetime | None,
) -> tuple[datetime, datetime | None]:
    """When a running target falls due and when its warning goes out (a warning already
    sent keeps its time), on plain values so that a re-evaluation of thousands of
    targets needs no model instance."""
    left = duration - covered_before_run
    due_at = clock.due_after(run_started_at, left if left > ZERO else ZERO)
    if warned_at is None:
        warn_left = duration * warn_fraction() - covered_before_run
        warn_at = clock.due_after(run_started_at, warn_left if warn_left > ZERO else ZERO)
    return due_at, warn_at


def _set_case_due(case: Case, due_at: datetime | None) -> None:
    """Keep the case in hand saying what its running target says."""
    case.response_due_at = due_at


def _start(case: Case, kind: str, now: datetime) -> ResponseTarget | None:
    terms = terms_for(case)
    duration = terms.duration(kind) if terms else None
    if duration is None:
        # No target for this plan and priority: nothing is promised.
        return None
    target = ResponseTarget(
        case=case,
        kind=kind,
        plan=terms.plan,
        priority=case.priority,
        coverage=terms.target.coverage,
        target=duration,
        started_at=now,
        run_started_at=now,
    )
    _schedule(target, terms.clock)
    target.save(force_insert=True)
    _set_case_due(case, target.due_at)
    return target


def _keep_breach(target: ResponseTarget, now: datetime) -> None:
    """A running target past its due time was missed, even if the beat has not said so
    yet: pausing or stopping it must not clear that (the report counts it missed)."""
    running = target.outcome == TargetOutcome.RUNNING
    if running and target.breached_at is None and target.due_at and target.due_at <= now:
        target.breached_at = target.due_at


def _end(target: ResponseTarget, outcome: TargetOutcome, now: datetime) -> None:
    _keep_breach(target, now)
    target.outcome = outcome
    target.ended_at = now
    target.due_at = target.warn_at = None
    target.save(update_fields=["outcome", "ended_at", "due_at", "warn_at", "breached_at"])


# --- What happens to a case ---------------------------------------------------------------


def case_opened(case: Case, now: datetime) -> None:
    """A new case: its first response target starts."""
    _start(case, TargetKind.FIRST_RESPONSE, now)


def customer_wrote(case: Case, now: datetime) -> None:
    """A customer's message (reply, reopen, approval answer) on a case that waits on us:
    a paused target carries on, and with none open the next update (or, before any
    engineer replied, the first response) starts now."""
    if case.status not in WAITING_ON_US:
        return
    target = open_target(case)
    if target is not None:
        if target.outcome == TargetOutcome.PAUSED:
            _resume(case, target, now)
        return
    kind = TargetKind.NEXT_UPDATE if case.first_response_at else TargetKind.FIRST_RESPONSE
    _start(case, kind, now)


def engineer_replied(case: Case, now: datetime) -> None:
    """A public reply by an engineer meets the open target (late replies count as missed)."""
    if case.first_response_at is None:
        case.first_response_at = now
        Case.objects.filter(pk=case.pk).update(first_response_at=now)
    target = open_target(case)
    if target is None:
        return
    terms = terms_for(case)
    clock = terms.clock if terms else CoverageClock(business_hours=False)
    in_time = covered_so_far(target, clock, now) <= target.target and target.breached_at is None
    if not in_time and target.breached_at is None:
        target.breached_at = target.due_at or now
    _end(target, TargetOutcome.MET if in_time else TargetOutcome.MISSED, now)
    _set_case_due(case, None)


def status_changed(case: Case, now: datetime) -> None:
    """After a transition: back with us resumes a paused target, waiting on the customer
    pauses the running one, Closed stops it."""
    target = open_target(case)
    if target is None:
        return
    if case.status == Status.CLOSED:
        _end(target, TargetOutcome.STOPPED, now)
        _set_case_due(case, None)
    elif case.status in WAITING_ON_US:
        if target.outcome == TargetOutcome.PAUSED:
            _resume(case, target, now)
    elif target.outcome == TargetOutcome.RUNNING:
        _pause(case, target, now)


def cases_closed(case_ids: list[int], now: datetime) -> None:
    """`status_changed` for a batch of cases the sweep closed (their targets were paused)."""
    stopped = ResponseTarget.objects.filter(case_id__in=case_ids, outcome__in=OPEN_OUTCOMES)
    stopped.update(outcome=TargetOutcome.STOPPED, ended_at=now, due_at=None, warn_at=None)


def _pause(case: Case, target: ResponseTarget, now: datetime) -> None:
    terms = terms_for(case)
    clock = terms.clock if terms else CoverageClock(business_hours=False)
    target.covered_before_run = covered_so_far(target, clock, now)
    _keep_breach(target, now)
    target.outcome = TargetOutcome.PAUSED
    target.due_at = target.warn_at = None
    target.save(
        update_fields=["covered_before_run", "outcome", "due_at", "warn_at", "breached_at"]
    )
    _set_case_due(case, None)


def _resume(case: Case, target: ResponseTarget, now: datetime) -> None:
    terms = terms_for(case)
    if terms is None or terms.duration(target.kind) is None:
        _end(target, TargetOutcome.STOPPED, now)
        return
    _apply_terms(target, case, terms)
    target.outcome = TargetOutcome.RUNNING
    target.run_started_at = now
    _schedule(target, terms.clock)
    target.save()
    _set_case_due(case, target.due_at)


def _apply_terms(target: ResponseTarget, case: Case, terms: Terms) -> None:
    target.plan = terms.plan
    target.priority = case.priority
    target.coverage = terms.target.coverage
    target.target = terms.duration(target.kind)


# --- Recomputing after the terms changed ----------------------------------------------------


def terms_text(target: ResponseTarget) -> str:
    """ "Business plan, P2 High": what the customer and the history read."""
    return f"{target.plan.name} plan, {Priority(target.priority).label}"


def recompute(case: Case, *, actor, because: str, now: datetime | None = None) -> CaseEvent | None:
    """Recompute the open target of one case after its terms changed (priority, plan,
    time zone, holidays or the plan's targets), with a history entry when its due time
    or terms moved. Returns that entry."""
    now = now or timezone.now()
    target = open_target(case)
    if target is None:
        return None
    reason = _recompute_in_memory(case, target, case.organisation.service_plan, because, now)
    if reason is None:
        return None
    target.save()
    _set_case_due(case, target.due_at if target.outcome == TargetOutcome.RUNNING else None)
    event = _history_entry(case, reason, now, actor=actor)
    event.save(force_insert=True)
    return event


def _recompute_reason(target: ResponseTarget, terms: Terms, because: str) -> str:
    what = _terms_reason(
        because, target.kind, target.target, terms.plan.name, target.priority, target.coverage
    )
    if target.outcome == TargetOutcome.RUNNING:
        what += _due_text(target.due_at)
    return what


def _due_text(due_at: datetime, shown_in=None) -> str:
    from portal.timefmt import display

    return f", due {display(due_at, shown_in)}"


def _stopped_reason(because: str, kind: str) -> str:
    return f"{because}: no {TargetKind(kind).label.lower()} target any more"


@lru_cache(maxsize=1024)
def _terms_reason(
    because: str, kind: str, duration: timedelta, plan: str, priority: int, coverage: str
) -> str:
    """The reason's words for the terms: the same for the thousands of targets a policy
    change re-evaluates, so they are put together once."""
    what = f"{TargetKind(kind).label} target {_duration_text(duration)}"
    what += f" ({plan} plan, {Priority(priority).label}, {Coverage(coverage).label})"
    return f"{because}: {what}"


def _duration_text(duration: timedelta) -> str:
    from cases.presenters import duration_text

    return duration_text(duration)


RECOMPUTE_BATCH_SIZE = 2000


def recompute_after_commit(
    *, because: str, organisation_ids: list[int] | None = None, plan_ids: list[int] | None = None
) -> None:
    """After staff changed the policy or an organisation: recompute the open targets it
    touches in a worker once the change commits, or here and now if no worker can be
    reached (the change must take effect either way)."""
    from celery import current_app

    kwargs = {"because": because, "organisation_ids": organisation_ids, "plan_ids": plan_ids}

    def hand_over() -> None:
        try:
            current_app.tasks["cases.tasks.recompute_service_levels_task"].delay(**kwargs)
        except Exception:  # noqa: BLE001 - the broker is down: do it in this process
            logger.warning("Broker unavailable; recomputing service levels in process")
            recompute_many(**kwargs)

    transaction.on_commit(hand_over)


def recompute_many(
    *,
    organisation_ids: Iterable[int] | None = None,
    plan_ids: Iterable[int] | None = None,
    because: str,
) -> int:
    """Recompute every open target of the cases of some organisations, of the
    organisations on some plans, or (neither given) of every case: the admin's edits to
    a plan, its targets or an organisation land here (in a task). Batches of
    RECOMPUTE_BATCH_SIZE, each one transaction writing in bulk; returns how many targets
    moved."""
    from django.db.models import Q

    scope = Q()
    if organisation_ids is not None:
        scope &= Q(case__organisation_id__in=list(organisation_ids))
    if plan_ids is not None:
        plan_ids = list(plan_ids)
        default = Plan.objects.default()
        on_plan = Q(case__organisation__plan_id__in=plan_ids)
        if default is not None and default.pk in plan_ids:
            on_plan |= Q(case__organisation__plan__isnull=True)
        scope &= on_plan
    policy = _LivePolicy()
    moved = 0
    after_id = 0
    while True:
        after_id, changed = _recompute_batch(scope, after_id, because, policy)
        if after_id is None:
            return moved
        moved += changed


class _LivePolicy:
    """The policy as it stands, read once for a whole re-evaluation: each plan's target
    per priority and each organisation's clocks. The terms of thousands of targets come
    from a handful of rows, so each (organisation, priority) is worked out once."""

    def __init__(self) -> None:
        self.plans = {plan.pk: plan for plan in Plan.objects.prefetch_related("targets")}
        self.default_plan = (
            next((p for p in self.plans.values() if p.is_default), None) or Plan.objects.default()
        )
        self.organisations: dict = {}
        self._terms: dict[tuple[int, int], Terms | None] = {}

    def load(self, organisation_ids: set[int]) -> None:
        from portal.models import Organisation

        missing = organisation_ids - self.organisations.keys()
        if missing:
            self.organisations.update(Organisation.objects.in_bulk(missing))

    def terms(self, organisation_id: int, priority: int) -> Terms | None:
        """The terms for a case of this organisation and priority; None when its plan
        has no target for the priority (or there is no plan at all)."""
        key = (organisation_id, priority)
        if key not in self._terms:
            organisation = self.organisations[organisation_id]
            plan = (
                self.plans.get(organisation.plan_id) if organisation.plan_id else self.default_plan
            )
            target = (
                next((t for t in _targets_of(plan) if t.priority == priority), None)
                if plan
                else None
            )
            if target is None:
                self._terms[key] = None
            else:
                business_hours = target.coverage == Coverage.BUSINESS_HOURS
                self._terms[key] = Terms(plan, target, _clock_of(organisation, business_hours))
        return self._terms[key]


# What a re-evaluation reads of each open target and its case, as plain values: a model
# instance per target and per case cost more than the re-evaluation itself.
RECOMPUTE_VALUES = (
    "pk",
    "case_id",
    "kind",
    "plan_id",
    "priority",
    "coverage",
    "target",
    "run_started_at",
    "covered_before_run",
    "due_at",
    "warn_at",
    "warned_at",
    "outcome",
    "case__priority",
    "case__status",
    "case__organisation_id",
)


@dataclass
class _Moves:
    """What a batch writes: targets under new terms (id, plan, priority, coverage,
    target, due, warning), targets stopped for want of a target, and one history entry
    per moved target (case, status, reason)."""

    retermed: list[tuple] = field(default_factory=list)
    stopped: list[int] = field(default_factory=list)
    history: list[tuple[int, str, str]] = field(default_factory=list)


def _lock_cases(case_ids: list[int]) -> None:
    """Lock the batch's cases first, in id order, then their targets: the order every
    service takes (it locks the case, then writes its target), so a reply during a
    re-evaluation waits for the batch instead of deadlocking with it. One array
    parameter: an IN list of 2,000 placeholders costs more to build than to run."""
    if connection.vendor != "postgresql":
        return  # SQLite has one writer at a time and no row locks
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM cases_case WHERE id = ANY(%s) ORDER BY id FOR UPDATE", [case_ids]
        )


@transaction.atomic
def _recompute_batch(scope, after_id, because, policy: _LivePolicy) -> tuple[int | None, int]:
    """The next batch of open targets in `scope` after `after_id`, locked and read in one
    query, re-evaluated under `policy` and written in bulk. Returns (the batch's last id,
    or None when none was left; how many moved). Same rules as `_recompute_in_memory`,
    which recomputes one case: a target moves when its terms or due time change."""
    from portal.timefmt import zone

    now = timezone.now()
    batch = list(
        ResponseTarget.objects.filter(scope, outcome__in=OPEN_OUTCOMES, pk__gt=after_id)
        .order_by("pk")
        .values_list("pk", "case_id")[:RECOMPUTE_BATCH_SIZE]
    )
    if not batch:
        return None, 0
    last_id = batch[-1][0]
    _lock_cases(sorted({case_id for _, case_id in batch}))
    # The same range again, now locked (a target that closed meanwhile drops out).
    rows = list(
        ResponseTarget.objects.select_for_update(of=("self",))
        .filter(scope, outcome__in=OPEN_OUTCOMES, pk__gt=after_id, pk__lte=last_id)
        .order_by("pk")
        .values_list(*RECOMPUTE_VALUES)
    )
    if not rows:
        return last_id, 0
    policy.load({row[15] for row in rows})
    shown_in = zone()
    moves = _Moves()
    for (
        pk,
        case_id,
        kind,
        plan_id,
        priority,
        coverage,
        duration,
        run_started_at,
        covered_before_run,
        due_at,
        warn_at,
        warned_at,
        outcome,
        case_priority,
        case_status,
        organisation_id,
    ) in rows:
        terms = policy.terms(organisation_id, case_priority)
        if terms is None:
            moves.stopped.append(pk)
            moves.history.append((case_id, case_status, _stopped_reason(because, kind)))
            continue
        new_duration = terms.duration(kind)
        new_due, new_warn = due_at, warn_at
        if outcome == TargetOutcome.RUNNING:
            new_due, new_warn = _due_and_warn(
                terms.clock, run_started_at, new_duration, covered_before_run, warned_at, warn_at
            )
        new_coverage = terms.target.coverage
        if (terms.plan.pk, case_priority, new_coverage, new_duration, new_due) == (
            plan_id,
            priority,
            coverage,
            duration,
            due_at,
        ):
            continue
        moves.retermed.append(
            (pk, terms.plan.pk, case_priority, new_coverage, new_duration, new_due, new_warn)
        )
        reason = _terms_reason(
            because, kind, new_duration, terms.plan.name, case_priority, new_coverage
        )
        if outcome == TargetOutcome.RUNNING:
            reason += _due_text(new_due, shown_in)
        moves.history.append((case_id, case_status, reason))
    _write_targets(moves, now)
    _write_history(moves.history, now)
    return last_id, len(moves.history)


def _recompute_in_memory(case, target, plan, because, now) -> str | None:
    before = (target.plan_id, target.priority, target.coverage, target.target, target.due_at)
    policy = (
        next((t for t in _targets_of(plan) if t.priority == case.priority), None) if plan else None
    )
    if policy is None:
        _keep_breach(target, now)
        target.outcome = TargetOutcome.STOPPED
        target.ended_at = now
        target.due_at = target.warn_at = None
        return _stopped_reason(because, target.kind)
    clock = _clock_of(case.organisation, policy.coverage == Coverage.BUSINESS_HOURS)
    terms = Terms(plan, policy, clock)
    _apply_terms(target, case, terms)
    if target.outcome == TargetOutcome.RUNNING:
        _schedule(target, clock)
    after = (target.plan_id, target.priority, target.coverage, target.target, target.due_at)
    if after == before:
        return None
    return _recompute_reason(target, terms, because)


def _clock_of(organisation, business_hours: bool) -> CoverageClock:
    """The organisation's coverage clock, kept on the instance: a re-evaluation shares
    one organisation object among all its cases."""
    clocks = organisation.__dict__.setdefault("_service_level_clocks", {})
    clock = clocks.get(business_hours)
    if clock is None:
        clock = clocks[business_hours] = organisation.coverage(business_hours=business_hours)
    return clock


def _history_entry(case: Case, reason: str, now: datetime, *, actor=None) -> CaseEvent:
    """A history entry that changes no status: the terms moved, by staff or the policy."""
    return CaseEvent(
        case=case,
        transition="service_level",
        from_status=case.status,
        to_status=case.status,
        actor=actor,
        actor_kind=Actor.ENGINEER if actor is not None else Actor.SCHEDULER,
        reason=reason,
        created_at=now,
    )


def _write_targets(moves: _Moves, now: datetime) -> None:
    """Write a batch's moved targets and their cases' due times. On PostgreSQL one
    statement per table joining arrays of values, setting only what a re-evaluation
    changes (bulk_update's CASE per row and column builds slowly at thousands of rows);
    elsewhere (SQLite, development and tests) one plain update per row."""
    if moves.stopped:
        stopped = ResponseTarget.objects.filter(pk__in=moves.stopped)
        # A running target already past its due time was missed (see `_keep_breach`).
        stopped.filter(
            outcome=TargetOutcome.RUNNING, breached_at__isnull=True, due_at__lte=now
        ).update(breached_at=F("due_at"))
        stopped.update(outcome=TargetOutcome.STOPPED, ended_at=now, due_at=None, warn_at=None)
    if connection.vendor != "postgresql":
        for pk, plan_id, priority, coverage, duration, due_at, warn_at in moves.retermed:
            ResponseTarget.objects.filter(pk=pk).update(
                plan_id=plan_id,
                priority=priority,
                coverage=coverage,
                target=duration,
                due_at=due_at,
                warn_at=warn_at,
            )
        return
    with connection.cursor() as cursor:
        if moves.retermed:
            cursor.execute(
                """
                UPDATE cases_responsetarget AS t
                SET plan_id = v.plan_id, priority = v.priority, coverage = v.coverage,
                    target = v.target, due_at = v.due_at, warn_at = v.warn_at
                FROM unnest(%b::bigint[], %b::bigint[], %b::smallint[], %b::varchar[],
                            %b::interval[], %b::timestamptz[], %b::timestamptz[])
                    AS v(id, plan_id, priority, coverage, target, due_at, warn_at)
                WHERE t.id = v.id
                """,
                [list(column) for column in zip(*moves.retermed, strict=True)],
            )


def _write_history(history: list[tuple[int, str, str]], now: datetime) -> None:
    """One history entry per moved target (case, its status, the reason), by the policy:
    COPY on PostgreSQL (building and inserting a model instance per entry cost more than
    re-evaluating the target)."""
    if connection.vendor != "postgresql":
        CaseEvent.objects.bulk_create(
            CaseEvent(
                case_id=case_id,
                transition="service_level",
                from_status=status,
                to_status=status,
                actor_kind=Actor.SCHEDULER,
                reason=reason,
                created_at=now,
            )
            for case_id, status, reason in history
        )
        return
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(
            "COPY cases_caseevent (case_id, transition, from_status, to_status, actor_kind, "
            "reason, created_at) FROM STDIN"
        ) as copy,
    ):
        for case_id, status, reason in history:
            copy.write_row(
                (case_id, "service_level", status, status, Actor.SCHEDULER, reason, now)
            )
