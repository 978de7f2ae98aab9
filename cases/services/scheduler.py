"""What happens with nobody acting: automatic close, reminders, the daily digest and the
service-level warnings and escalations."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django_fsm import can_proceed, has_transition_perm

from cases import outbox, service_levels
from cases.models import (
    Case,
    CaseEvent,
    NotificationKind,
    ResponseTarget,
    Status,
    TargetOutcome,
)
from cases.policy import auto_close_reason, reminder_days_before, reminders_due
from cases.services.common import (
    apply_transition,
    customers_to_tell,
    customers_to_tell_many,
    fire_transition,
    lock_case,
    new_event,
    notify_assignee,
    notify_customers,
)
from portal.timefmt import display

logger = logging.getLogger(__name__)


# --- Scheduler ------------------------------------------------------------------------


@transaction.atomic
def case_hold_auto_close(*, case: Case, reason: str) -> Case:
    """Stop a Pending Customer clock from closing the case (e.g. the question bounced)."""
    case = lock_case(case)
    if case.status == Status.PENDING_CUSTOMER and case.auto_close_held_reason != reason:
        case.auto_close_held_reason = reason[:200]
        case.save(update_fields=["auto_close_held_reason", "updated_at"])
    return case


def case_auto_close(*, case_id: int) -> Case | None:
    """Close one case whose clock ran out, if it still has under its lock.

    Returns the closed case, or None when the case was busy (locked by a reply in
    flight: the next sweep looks again) or is no longer due (the customer replied, an
    engineer acted, or it is closed already). Safe to run any number of times.
    """
    with transaction.atomic():
        case = (
            Case.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("requester", "assignee", "original_engineer")
            .filter(pk=case_id)
            .first()
        )
        if case is None or not can_proceed(case.auto_close):
            return None
        now = timezone.now()
        event = apply_transition(
            case,
            "auto_close",
            actor=None,
            reason=auto_close_reason(case.status),
            args=(now,),
            now=now,
        )
        notify_customers(case, NotificationKind.AUTO_CLOSED, event=event)
        notify_assignee(case, NotificationKind.ENGINEER_AUTO_CLOSED, event=event)
        return case


SWEEP_BATCHES_PER_READ = 40


@transaction.atomic
def _auto_close_batch(case_ids: Sequence[int]) -> list[Case]:
    """`case_auto_close` for a batch: the same checks per case, written with bulk statements.

    Cases locked by someone else (a reply in flight) are skipped for the next sweep;
    each locked case is re-checked before it closes.
    """
    cases = (
        Case.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("requester__membership", "assignee")
        .filter(pk__in=case_ids)
        .order_by("pk")
    )
    now = timezone.now()
    closing: list[Case] = []
    events: list[CaseEvent] = []
    # The columns each case's transition changed, from the transition itself (run in
    # memory, as the single path runs it before its save). Cases that close alike are
    # written together (bulk_update's CASE per row and field is slow to build);
    # normally each starting status is one UPDATE, all at the batch's one instant.
    groups: dict[tuple, list[int]] = defaultdict(list)
    for case in cases:
        if not (can_proceed(case.auto_close) and has_transition_perm(case.auto_close, None)):
            continue
        was = case.status
        changed = fire_transition(case, "auto_close", args=(now,), now=now)
        groups[tuple(sorted(changed.items()))].append(case.pk)
        closing.append(case)
        events.append(
            new_event(
                case,
                "auto_close",
                actor=None,
                reason=auto_close_reason(was),
                from_status=was,
                created_at=now,
            )
        )
    if not closing:
        return []
    for changes, pks in groups.items():
        Case.objects.filter(pk__in=pks).update(**dict(changes))
    CaseEvent.objects.bulk_create(events)
    service_levels.cases_closed([case.pk for case in closing], now)
    emails = []
    customers = customers_to_tell_many(closing)
    for case, event in zip(closing, events, strict=True):
        for person in customers[case.pk]:
            emails.append((case, NotificationKind.AUTO_CLOSED, event, person))
        if case.assignee_id and case.assignee.is_active:
            emails.append((case, NotificationKind.ENGINEER_AUTO_CLOSED, event, case.assignee))
    outbox.queue_many(emails)
    return closing


def close_stale_cases(*, batch_size: int | None = None) -> list[Case]:
    """Close every case whose Pending Customer or Resolved clock has run out.

    Works through due ids in batches. Each batch is one short transaction that locks
    only the rows nobody else holds, re-checks every case under its lock and writes the
    closes, history entries and notifications in bulk: per-case round trips made 10,000
    due cases take minutes. Should a batch fail, its cases are retried one by one, each
    in its own transaction, so one bad row cannot hold up the rest. Reruns and
    concurrent sweeps are harmless.
    """
    from cases.selectors import case_ids_due_for_auto_close

    return _in_batches(
        case_ids_due_for_auto_close,
        _auto_close_batch,
        lambda case_id: case_auto_close(case_id=case_id),
        batch_size=batch_size or settings.CASE_SWEEP_BATCH_SIZE,
        what="auto-close case",
    )


def _in_batches(
    select_ids: Callable[..., list[int]],
    handle_batch: Callable[[Sequence[int]], list],
    handle_one: Callable[[int], object | None],
    *,
    batch_size: int,
    what: str,
) -> list:
    """Run `handle_batch` over the ids `select_ids` finds, a batch at a time, and return
    all it handled. Ids are read many batches at a time: each read walks every due entry
    of an index, so reading per batch made a sweep quadratic. A failed batch is retried
    one id at a time with `handle_one` (None: nothing to do), each in its own
    transaction, so one bad row cannot keep every row after it (in id order, each run)
    waiting."""
    handled: list = []
    after_id = 0
    while True:
        ids = select_ids(
            now=timezone.now(), after_id=after_id, limit=batch_size * SWEEP_BATCHES_PER_READ
        )
        if not ids:
            return handled
        for start in range(0, len(ids), batch_size):
            batch = ids[start : start + batch_size]
            try:
                handled.extend(handle_batch(batch))
            except Exception:
                logger.exception("Batch to %s after id %s failed; one at a time", what, batch[0])
                for item_id in batch:
                    try:
                        item = handle_one(item_id)
                    except Exception:
                        logger.exception("Could not %s %s; the next run retries", what, item_id)
                        continue
                    if item is not None:
                        handled.append(item)
        after_id = ids[-1]


def send_due_reminders() -> int:
    """Queue the reminder emails that are due for Pending Customer cases.

    By default 7 days and 1 day before the automatic close, to each customer the case's
    emails go to (the requester and the participants). Only the latest reminder that is
    due is queued (after an outage nobody gets two at once), and each is unique per
    case, clock start, threshold and recipient, so reruns queue nothing twice. Returns
    how many were queued.
    """
    from cases.selectors import case_list_awaiting_reminder

    queued = 0
    now = timezone.now()
    thresholds = reminder_days_before()
    if not thresholds:
        return 0
    candidates = case_list_awaiting_reminder(now=now, max_days_before=max(thresholds))
    for case_id in candidates.values_list("pk", flat=True):
        with transaction.atomic():
            # Re-read under the row lock: a reply committed since the query stops the
            # clock, and such a case gets no reminder. A busy case is left to the next run.
            case = (
                Case.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("requester__membership")
                .filter(pk=case_id, status=Status.PENDING_CUSTOMER, auto_close_held_reason="")
                .first()
            )
            deadline = case.auto_close_at if case is not None else None
            if deadline is None or now >= deadline:
                continue
            due = reminders_due(deadline, now)
            if not due:
                continue
            for person in customers_to_tell(case):
                queued += int(outbox.queue_reminder(case, days_before=min(due), recipient=person))
    return queued


def send_daily_digests() -> int:
    """Queue today's digest for each engineer who has open cases or while any case waits
    unassigned (P3 and P4 cases are announced here, not one by one). Reruns on the same
    day queue nothing twice."""
    return outbox.queue_daily_digests(now=timezone.now())


# --- Service levels -------------------------------------------------------------------

SERVICE_LEVEL_BATCH_SIZE = 500


@dataclass(frozen=True)
class ServiceLevelCheck:
    """What one run of `check_service_levels` did: targets warned and targets escalated."""

    warned: int
    breached: int


def check_service_levels(*, batch_size: int | None = None) -> ServiceLevelCheck:
    """Warn before response targets are missed, and escalate the ones that were.

    Warning: a running target whose warning time has come and whose due time has not
    is marked warned and emails its case's assignee, when an active engineer is
    assigned, else the on-call recipients (ONCALL_EMAIL, else every active engineer).
    A target already past due when first seen skips the warning: it is escalated.
    Escalation: a running target past its due time is marked breached at that time,
    gets a history entry ("service_level_breach") and emails the on-call recipients
    and the assignee.

    Works in batches like `close_stale_cases`: each batch is one short transaction that
    locks the targets and their cases nobody else holds (a reply in flight holds its
    case: the next run looks again, and finds the target met) and re-checks each one
    under the lock, then writes in bulk. `warned_at`/`breached_at`, set in the same
    transaction as the emails, and the outbox's per-target dedupe keys make reruns,
    concurrent runs and runs after a killed worker queue nothing twice.
    """
    batch_size = batch_size or SERVICE_LEVEL_BATCH_SIZE
    oncall = outbox.oncall_recipients()
    engineer_ids = set(outbox.engineers().values_list("pk", flat=True))

    def warn(ids: Sequence[int]) -> list[ResponseTarget]:
        return _warn_batch(ids, oncall=oncall, engineer_ids=engineer_ids)

    def escalate(ids: Sequence[int]) -> list[ResponseTarget]:
        return _escalate_batch(ids, oncall=oncall, engineer_ids=engineer_ids)

    def one_of(handle):
        # A batch of one; None when the target needed nothing any more.
        return lambda target_id: next(iter(handle([target_id])), None)

    # Warnings first: a target that falls due while they are written is escalated below.
    warned = _in_batches(
        _target_ids_to_warn,
        warn,
        one_of(warn),
        batch_size=batch_size,
        what="warn of response target",
    )
    breached = _in_batches(
        _target_ids_breached,
        escalate,
        one_of(escalate),
        batch_size=batch_size,
        what="escalate response target",
    )
    return ServiceLevelCheck(warned=len(warned), breached=len(breached))


def _target_ids_to_warn(*, now: datetime, after_id: int, limit: int) -> list[int]:
    return list(
        ResponseTarget.objects.filter(
            outcome=TargetOutcome.RUNNING,
            warned_at__isnull=True,
            warn_at__lte=now,
            due_at__gt=now,
            pk__gt=after_id,
        )
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )


def _target_ids_breached(*, now: datetime, after_id: int, limit: int) -> list[int]:
    return list(
        ResponseTarget.objects.filter(
            outcome=TargetOutcome.RUNNING,
            breached_at__isnull=True,
            due_at__lte=now,
            pk__gt=after_id,
        )
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )


def _lock_targets(ids: Sequence[int], **due) -> list[ResponseTarget]:
    """The running targets among `ids` that still meet `due`, each locked with its case.

    Rows someone else holds are skipped (SKIP LOCKED). PostgreSQL re-evaluates the
    conditions on the latest committed version of each row it locks, so a target met,
    paused, recomputed or handled by another run a moment ago is left out here.
    """
    return list(
        ResponseTarget.objects.select_for_update(skip_locked=True, of=("self", "case"))
        .select_related("case", "case__assignee", "plan")
        .filter(pk__in=ids, outcome=TargetOutcome.RUNNING, **due)
        .order_by("pk")
    )


def _assignee(target: ResponseTarget, engineer_ids: set[int]) -> list[tuple[object, str]]:
    """The case's assignee as a recipient, if an active engineer is assigned."""
    case = target.case
    if case.assignee_id in engineer_ids:
        return [(case.assignee, case.assignee.email)]
    return []


@transaction.atomic
def _warn_batch(
    ids: Sequence[int], *, oncall: list, engineer_ids: set[int]
) -> list[ResponseTarget]:
    """The targets it warned."""
    now = timezone.now()
    targets = _lock_targets(ids, warned_at__isnull=True, warn_at__lte=now, due_at__gt=now)
    if not targets:
        return []
    ResponseTarget.objects.filter(pk__in=[t.pk for t in targets]).update(warned_at=now)
    items = []
    for target in targets:
        target.warned_at = now
        recipients = _assignee(target, engineer_ids) or oncall
        items.append((target, NotificationKind.SERVICE_LEVEL_WARNING, None, recipients))
    outbox.queue_service_level_alerts(items)
    return targets


def breach_reason(target: ResponseTarget) -> str:
    """ "First response target missed (due 9 Dec 2026, 14:00 CET, Business plan, P2 High)"."""
    terms = service_levels.terms_text(target)
    return f"{target.get_kind_display()} target missed (due {display(target.due_at)}, {terms})"


@transaction.atomic
def _escalate_batch(
    ids: Sequence[int], *, oncall: list, engineer_ids: set[int]
) -> list[ResponseTarget]:
    """The targets it escalated."""
    now = timezone.now()
    targets = _lock_targets(ids, breached_at__isnull=True, due_at__lte=now)
    if not targets:
        return []
    # Breached when it fell due, not when this run noticed.
    ResponseTarget.objects.filter(pk__in=[t.pk for t in targets]).update(breached_at=F("due_at"))
    events = [
        new_event(
            target.case,
            "service_level_breach",
            actor=None,
            reason=breach_reason(target),
            created_at=now,
        )
        for target in targets
    ]
    CaseEvent.objects.bulk_create(events)
    items = []
    for target, event in zip(targets, events, strict=True):
        target.breached_at = target.due_at
        recipients = [*oncall, *_assignee(target, engineer_ids)]
        items.append((target, NotificationKind.SERVICE_LEVEL_BREACHED, event, recipients))
    outbox.queue_service_level_alerts(items)
    return targets
