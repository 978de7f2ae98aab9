"""What must hold of the stored support history whatever happened to the processes.

`find_violations()` reads the database and returns one `Violation` per broken promise;
`manage.py check_invariants` prints them and fails when there is any. It is run after
every fault scenario (killed workers, broker outages, racing sweeps).

Nothing deleted: rows are never deleted and ids are never reused, so every row that
existed at the last clean check still has an id at or below that check's highest id.
`record_watermarks()` stores, per table, that highest id and how many rows had an id at
or below it; a later count over the same id range may only be equal or larger (larger
when a transaction that drew its id earlier committed after the check). Id gaps alone
prove nothing: a rolled-back insert also burns a sequence value.
"""

from __future__ import annotations

import posixpath
from collections import defaultdict
from dataclasses import dataclass

from django.db import transaction
from django.db.models import F, Max

from .models import (
    Actor,
    Attachment,
    Case,
    CaseEvent,
    CaseParticipant,
    InboundEmail,
    InvariantWatermark,
    Message,
    Notification,
    NotificationKind,
    ResponseTarget,
    Status,
    TargetOutcome,
)

# Transitions whose history entry must come with an email to the requester.
NOTIFYING_TRANSITIONS = {
    "request_info": NotificationKind.PENDING_CUSTOMER,
    "resolve": NotificationKind.RESOLVED,
    "auto_close": NotificationKind.AUTO_CLOSED,
    "reopen": NotificationKind.REOPENED,
}

# (transition, who acted) whose history entry must come with an email to the case's
# assigned engineer; None matches any actor.
ENGINEER_NOTIFYING_TRANSITIONS = {
    ("confirm", None): NotificationKind.CUSTOMER_CONFIRMED,
    ("close", Actor.CUSTOMER): NotificationKind.CUSTOMER_CLOSED,
    ("auto_close", None): NotificationKind.ENGINEER_AUTO_CLOSED,
}
# An engineer closing a case tells the requester.
REQUESTER_NOTIFYING_BY_ACTOR = {("close", Actor.ENGINEER): NotificationKind.CLOSED}

WATCHED_MODELS = (Case, Message, Attachment, CaseEvent, Notification, InboundEmail)


@dataclass(frozen=True)
class Violation:
    rule: str
    subject: str
    detail: str

    def __str__(self) -> str:
        return f"[{self.rule}] {self.subject}: {self.detail}"


def find_violations() -> list[Violation]:
    """Every broken invariant, read in one repeatable snapshot."""
    # REPEATABLE READ is not needed for correctness of each rule, but one transaction
    # keeps a busy database from showing half of a concurrent change between queries.
    with transaction.atomic():
        return [
            *_history_matches_status(),
            *_notifying_transitions_notified(),
            *_no_customer_message_left_closed(),
            *_no_auto_close_after_a_reply(),
            *_service_level_clock_agrees(),
            *_participants_are_colleagues(),
            *_nothing_deleted(),
            *_attachment_files_stored(),
        ]


def _service_level_clock_agrees() -> list[Violation]:
    """A target runs only while the case waits on us, and none is open on a closed case."""
    from cases.service_levels import WAITING_ON_US

    violations = []
    open_targets = ResponseTarget.objects.filter(outcome__in=["running", "paused"])
    for pk, status, outcome in open_targets.values_list("case_id", "case__status", "outcome"):
        subject = f"case {pk}"
        if outcome == TargetOutcome.RUNNING and status not in WAITING_ON_US:
            violations.append(
                Violation("service level", subject, f"is {status} with its target running")
            )
        if status == Status.CLOSED:
            violations.append(Violation("service level", subject, "is closed with a target open"))
    return violations


def _participants_are_colleagues() -> list[Violation]:
    """Whoever follows a case as a participant is an active member of its organisation
    and not its requester: leaving the organisation removes them (`person_left`)."""
    violations = []
    rows = CaseParticipant.objects.values_list(
        "pk",
        "case_id",
        "case__requester_id",
        "case__organisation_id",
        "user_id",
        "user__is_active",
        "user__membership__organisation_id",
    ).order_by("case_id", "pk")
    for pk, case_id, requester_id, organisation_id, user_id, active, member_of in rows:
        subject = f"case {case_id}"
        if user_id == requester_id:
            violations.append(
                Violation("participant", subject, f"participant {pk} is the requester")
            )
        elif member_of != organisation_id:
            violations.append(
                Violation(
                    "participant",
                    subject,
                    f"participant {pk} (user {user_id}) is not a member of its organisation",
                )
            )
        elif not active:
            violations.append(
                Violation("participant", subject, f"participant {pk} (user {user_id}) is inactive")
            )
    return violations


def _events_by_case() -> dict[int, list[CaseEvent]]:
    events: dict[int, list[CaseEvent]] = defaultdict(list)
    for event in CaseEvent.objects.order_by("case_id", "created_at", "id"):
        events[event.case_id].append(event)
    return events


def _customer_messages_by_case() -> dict[int, list[Message]]:
    messages: dict[int, list[Message]] = defaultdict(list)
    for message in Message.objects.filter(author_kind=Actor.CUSTOMER, is_internal=False).order_by(
        "case_id", "created_at", "id"
    ):
        messages[message.case_id].append(message)
    return messages


def _history_matches_status() -> list[Violation]:
    """Every case has its history, and its latest entry says the status it is in."""
    violations = []
    events = _events_by_case()
    for case in Case.objects.order_by("pk").only("pk", "status", "closed_at", "pending_since"):
        subject = f"case {case.pk}"
        history = events.get(case.pk, [])
        if not history:
            violations.append(Violation("history", subject, "has no history entry at all"))
            continue
        latest = history[-1]
        if latest.to_status != case.status:
            violations.append(
                Violation(
                    "history",
                    subject,
                    f"is {case.status} but its latest history entry ({latest.transition}) "
                    f"says {latest.to_status}",
                )
            )
        for before, after in zip(history, history[1:], strict=False):
            if after.from_status != before.to_status:
                violations.append(
                    Violation(
                        "history",
                        subject,
                        f"history jumps from {before.to_status} to {after.from_status} "
                        f"(a transition without its entry)",
                    )
                )
        changes = [event for event in history if event.from_status != event.to_status]
        if case.status == Status.CLOSED and (
            not changes or changes[-1].to_status != Status.CLOSED or case.closed_at is None
        ):
            violations.append(Violation("history", subject, "is closed without a closing entry"))
        if case.status == Status.PENDING_CUSTOMER and (
            not changes or changes[-1].transition != "request_info"
        ):
            violations.append(
                Violation("history", subject, "is Pending Customer without a request_info entry")
            )
    return violations


def _notifying_transitions_notified() -> list[Violation]:
    """Each change that tells someone queued that email.

    To the requester: request_info, resolve, auto_close, reopen and an engineer's close.
    To the assigned engineer: confirm, the customer's close and auto_close. Only for
    people who are active now (an inactive person is never emailed), and a requester
    only while still a customer of the case (a requester who left the organisation is
    not).
    """
    notified = set(
        Notification.objects.filter(event__isnull=False).values_list(
            "event_id", "kind", "recipient_id"
        )
    )
    violations = []
    events = CaseEvent.objects.filter(
        transition__in={*NOTIFYING_TRANSITIONS, "close", "confirm"}
    ).select_related("case", "case__requester__membership", "case__assignee")
    latest_change = _latest_status_change_by_case()
    for event in events.order_by("pk"):
        case = event.case
        kind = NOTIFYING_TRANSITIONS.get(event.transition) or REQUESTER_NOTIFYING_BY_ACTOR.get(
            (event.transition, event.actor_kind)
        )
        if (
            kind
            and case.is_customer(case.requester)
            and (event.pk, kind, case.requester_id) not in notified
        ):
            violations.append(
                Violation(
                    "notification",
                    f"case {event.case_id}",
                    f"{event.transition} entry {event.pk} has no {kind} email to the requester",
                )
            )
        kind = ENGINEER_NOTIFYING_TRANSITIONS.get(
            (event.transition, None)
        ) or ENGINEER_NOTIFYING_TRANSITIONS.get((event.transition, event.actor_kind))
        # The assignee then is the assignee now only while nothing changed status since
        # (a closed case keeps its assignee until it is reopened).
        if (
            kind
            and latest_change.get(case.pk) == event.pk
            and case.assignee_id
            and case.assignee.is_active
            and (event.pk, kind, case.assignee_id) not in notified
        ):
            violations.append(
                Violation(
                    "notification",
                    f"case {event.case_id}",
                    f"{event.transition} entry {event.pk} has no {kind} email to the engineer",
                )
            )
    return violations


def _latest_status_change_by_case() -> dict[int, int]:
    latest: dict[int, int] = {}
    changes = CaseEvent.objects.exclude(from_status=F("to_status")).order_by("created_at", "id")
    for case_id, event_id in changes.values_list("case_id", "pk"):
        latest[case_id] = event_id
    return latest


def _no_customer_message_left_closed() -> list[Violation]:
    """A customer's message on a closed case reopens it: none may sit after the closing."""
    violations = []
    events = _events_by_case()
    messages = _customer_messages_by_case()
    for case_id in Case.objects.filter(status=Status.CLOSED).values_list("pk", flat=True):
        closings = [
            e
            for e in events.get(case_id, [])
            if e.to_status == Status.CLOSED and e.from_status != Status.CLOSED
        ]
        if not closings:
            continue  # reported by the history rule
        closed_at = closings[-1].created_at
        for message in messages.get(case_id, []):
            if message.created_at > closed_at:
                violations.append(
                    Violation(
                        "closed-with-reply",
                        f"case {case_id}",
                        f"customer message {message.pk} came after the closing and the case "
                        "was not reopened",
                    )
                )
    return violations


def _no_auto_close_after_a_reply() -> list[Violation]:
    """The scheduler never closes a case the customer answered since its clock started."""
    violations = []
    events = _events_by_case()
    messages = _customer_messages_by_case()
    for case_id, history in events.items():
        for index, event in enumerate(history):
            if event.transition != "auto_close":
                continue
            entered = next(
                (
                    earlier
                    for earlier in reversed(history[:index])
                    if earlier.to_status == event.from_status
                    and earlier.from_status != earlier.to_status
                ),
                None,
            )
            clock_start = entered.created_at if entered else None
            for message in messages.get(case_id, []):
                # Strict on both sides: a reply that lost the race for the row lock is
                # written after the closing, and reopens the case instead.
                if (clock_start is None or message.created_at > clock_start) and (
                    message.created_at < event.created_at
                ):
                    violations.append(
                        Violation(
                            "closed-after-reply",
                            f"case {case_id}",
                            f"closed automatically (entry {event.pk}) although the customer "
                            f"replied (message {message.pk}) after the clock started",
                        )
                    )
    return violations


def _nothing_deleted() -> list[Violation]:
    violations = []
    for mark in InvariantWatermark.objects.all():
        model = _watched_model(mark.table)
        if model is None:
            continue
        present = model.objects.filter(pk__lte=mark.max_id).count()
        if present < mark.row_count:
            violations.append(
                Violation(
                    "deleted",
                    mark.table,
                    f"{mark.row_count - present} row(s) with id <= {mark.max_id} are gone "
                    f"({present} of {mark.row_count} left)",
                )
            )
    return violations


def _attachment_files_stored() -> list[Violation]:
    """Every attachment's file is in the storage (the local disk or the bucket).

    Read one folder listing at a time (a month of uploads), not one request per file. A
    file with no row is no violation: the file is written before its row, and a request
    that failed after the write rolled the row back.
    """
    storage = Attachment._meta.get_field("file").storage
    expected: dict[str, dict[str, tuple[int, int]]] = defaultdict(dict)
    for pk, case_id, name in Attachment.objects.order_by("pk").values_list(
        "pk", "message__case_id", "file"
    ):
        folder, base = posixpath.split(name)
        expected[folder][base] = (case_id, pk)
    violations = []
    for folder, files in sorted(expected.items()):
        try:
            stored = set(storage.listdir(folder)[1])
        except FileNotFoundError:
            stored = set()
        for base, (case_id, pk) in files.items():
            if base not in stored:
                violations.append(
                    Violation(
                        "attachment file",
                        f"case {case_id}",
                        f"attachment {pk}'s file {folder}/{base} is not in the storage",
                    )
                )
    return violations


def _watched_model(table: str):
    return next((m for m in WATCHED_MODELS if m._meta.db_table == table), None)


@transaction.atomic
def record_watermarks() -> None:
    """Remember how many rows exist up to each table's highest id (after a clean check)."""
    for model in WATCHED_MODELS:
        max_id = model.objects.aggregate(top=Max("pk"))["top"] or 0
        count = model.objects.filter(pk__lte=max_id).count()
        InvariantWatermark.objects.update_or_create(
            table=model._meta.db_table, defaults={"max_id": max_id, "row_count": count}
        )
