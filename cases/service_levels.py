"""The service-level clock: the one place that starts, pauses, meets and recomputes the
response targets on a case (`ResponseTarget` rows, with `Case.response_due_at`).

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
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from django.conf import settings
from django.db import connection, transaction
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
    left = target.target - target.covered_before_run
    target.due_at = clock.due_after(target.run_started_at, max(left, timedelta(0)))
    if target.warned_at is None:
        warn_left = target.target * warn_fraction() - target.covered_before_run
        target.warn_at = clock.due_after(target.run_started_at, max(warn_left, timedelta(0)))


def _set_case_due(case: Case, due_at: datetime | None) -> None:
    if case.response_due_at != due_at:
        case.response_due_at = due_at
        Case.objects.filter(pk=case.pk).update(response_due_at=due_at)


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
    Case.objects.filter(pk__in=case_ids, response_due_at__isnull=False).update(
        response_due_at=None
    )


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
    from portal.timefmt import display

    what = _terms_reason(
        because, target.kind, target.target, terms.plan.name, target.priority, target.coverage
    )
    if target.outcome == TargetOutcome.RUNNING:
        what += f", due {display(target.due_at)}"
    return what


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

    from portal.models import Organisation

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
    plans = {plan.pk: plan for plan in Plan.objects.prefetch_related("targets")}
    default_plan = (
        next((p for p in plans.values() if p.is_default), None) or Plan.objects.default()
    )
    organisations: dict[int, Organisation] = {}
    moved = 0
    after_id = 0
    while True:
        after_id, changed = _recompute_batch(
            scope, after_id, because, plans, default_plan, organisations
        )
        if after_id is None:
            return moved
        moved += changed


# What a re-evaluation reads of each case; the rest of the row stays in the database.
RECOMPUTE_CASE_FIELDS = ["priority", "status", "organisation_id", "response_due_at"]


@transaction.atomic
def _recompute_batch(
    scope, after_id, because, plans, default_plan, organisations
) -> tuple[int | None, int]:
    """The next batch of open targets in `scope` after `after_id`, locked, read and
    re-evaluated in one query, written in bulk. Returns (the batch's last id, or None
    when none was left; how many moved)."""
    from portal.models import Organisation

    now = timezone.now()
    targets = list(
        ResponseTarget.objects.select_for_update(of=("self",))
        .filter(scope, outcome__in=OPEN_OUTCOMES, pk__gt=after_id)
        .select_related("case")
        .only(
            *(field.name for field in ResponseTarget._meta.concrete_fields),
            *(f"case__{name}" for name in RECOMPUTE_CASE_FIELDS),
        )
        .order_by("pk")[:RECOMPUTE_BATCH_SIZE]
    )
    if not targets:
        return None, 0
    missing = {t.case.organisation_id for t in targets} - organisations.keys()
    organisations.update(Organisation.objects.in_bulk(missing))
    changed: list[ResponseTarget] = []
    reasons: list[str] = []
    for target in targets:
        case = target.case
        organisation = organisations[case.organisation_id]
        # Shared objects: the terms of thousands of cases come from a handful of rows.
        case.organisation = organisation
        plan = plans.get(organisation.plan_id) if organisation.plan_id else default_plan
        reason = _recompute_in_memory(case, target, plan, because, now)
        if reason is None:
            continue
        changed.append(target)
        reasons.append(reason)
    _write_targets(changed)
    _write_history(changed, reasons, now)
    return targets[-1].pk, len(changed)


def _recompute_in_memory(case, target, plan, because, now) -> str | None:
    before = (target.plan_id, target.priority, target.coverage, target.target, target.due_at)
    policy = (
        next((t for t in _targets_of(plan) if t.priority == case.priority), None) if plan else None
    )
    if policy is None:
        target.outcome = TargetOutcome.STOPPED
        target.ended_at = now
        target.due_at = target.warn_at = None
        return f"{because}: no {target.get_kind_display().lower()} target any more"
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


TARGET_COLUMNS = [
    "plan",
    "priority",
    "coverage",
    "target",
    "due_at",
    "warn_at",
    "outcome",
    "ended_at",
]


def _write_targets(targets: list[ResponseTarget]) -> None:
    """Write recomputed targets and their cases' due times: on PostgreSQL two statements
    for the batch, each joining arrays of values (bulk_update's CASE per row and column
    builds slowly at thousands of rows)."""
    if not targets:
        return
    if connection.vendor != "postgresql":
        ResponseTarget.objects.bulk_update(targets, TARGET_COLUMNS)
        for target in targets:
            running = target.outcome == TargetOutcome.RUNNING
            Case.objects.filter(pk=target.case_id).update(
                response_due_at=target.due_at if running else None
            )
        return
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE cases_responsetarget AS t
            SET plan_id = v.plan_id, priority = v.priority, coverage = v.coverage,
                target = v.target, due_at = v.due_at, warn_at = v.warn_at,
                outcome = v.outcome, ended_at = v.ended_at
            FROM unnest(%s::bigint[], %s::bigint[], %s::smallint[], %s::varchar[],
                        %s::interval[], %s::timestamptz[], %s::timestamptz[],
                        %s::varchar[], %s::timestamptz[])
                AS v(id, plan_id, priority, coverage, target, due_at, warn_at, outcome, ended_at)
            WHERE t.id = v.id
            """,
            [
                [t.pk for t in targets],
                [t.plan_id for t in targets],
                [t.priority for t in targets],
                [t.coverage for t in targets],
                [t.target for t in targets],
                [t.due_at for t in targets],
                [t.warn_at for t in targets],
                [t.outcome for t in targets],
                [t.ended_at for t in targets],
            ],
        )
        # Only the cases whose due time moves: a paused target's case shows none before
        # and after, and rewriting a case row rewrites its entry in every index.
        moving = [
            (t.case_id, due)
            for t in targets
            if (due := t.due_at if t.outcome == TargetOutcome.RUNNING else None)
            != t.case.response_due_at
        ]
        if moving:
            cursor.execute(
                """
                UPDATE cases_case AS c SET response_due_at = v.due_at
                FROM unnest(%s::bigint[], %s::timestamptz[]) AS v(id, due_at)
                WHERE c.id = v.id
                """,
                [[case_id for case_id, _ in moving], [due for _, due in moving]],
            )


def _write_history(targets: list[ResponseTarget], reasons: list[str], now: datetime) -> None:
    """One history entry per moved target, by the policy (COPY on PostgreSQL: building
    and inserting a model instance per entry cost more than re-evaluating the target)."""
    if connection.vendor != "postgresql":
        CaseEvent.objects.bulk_create(
            [
                _history_entry(target.case, reason, now)
                for target, reason in zip(targets, reasons, strict=True)
            ]
        )
        return
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(
            "COPY cases_caseevent (case_id, transition, from_status, to_status, actor_kind, "
            "reason, created_at) FROM STDIN"
        ) as copy,
    ):
        for target, reason in zip(targets, reasons, strict=True):
            status = target.case.status
            copy.write_row(
                (target.case_id, "service_level", status, status, Actor.SCHEDULER, reason, now)
            )
