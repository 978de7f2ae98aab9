"""What every use case shares: locking the row, applying a transition with its history
entry, adding a message, and telling the people on the case.

Each service locks the case row, checks the transition is allowed for this actor now,
applies it, and writes the history entry and any notifications in the same
transaction. Emails are handed to the workers only after commit (see `cases.outbox`),
so a rollback never sends anything and a lost task is picked up again by the relay.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from django.core.files.uploadedfile import UploadedFile
from django.utils import timezone
from django_fsm import can_proceed, has_transition_perm

from cases import outbox, service_levels
from cases.attachments import clean_filename
from cases.exceptions import ActionNotPermitted, CaseActionError, TransitionNotAllowed
from cases.models import (
    Actor,
    Attachment,
    Case,
    CaseEvent,
    Message,
    MessageSource,
    NotificationKind,
    is_case_customer,
    is_engineer,
)

# --- Internals ------------------------------------------------------------------------


def lock_case(case: Case | int) -> Case:
    """The case, locked for a change."""
    pk = case.pk if isinstance(case, Case) else case
    locked = (
        Case.objects.select_for_update(of=("self",))
        .select_related("requester", "assignee", "original_engineer")
        .get(pk=pk)
    )
    return locked


def actor_kind(user) -> Actor:
    if user is None:
        return Actor.SCHEDULER
    return Actor.ENGINEER if is_engineer(None, user) else Actor.CUSTOMER


def apply_transition(
    case: Case,
    transition: str,
    *,
    actor,
    reason: str = "",
    args: Sequence = (),
    refused: str | None = None,
    now: datetime | None = None,
) -> CaseEvent:
    """Run `transition` on a locked case for `actor`, save it and record the history."""
    method = getattr(case, transition)
    from_status = case.status
    if not can_proceed(method, check_conditions=False):
        raise TransitionNotAllowed(
            refused
            or f"This case is {case.get_status_display()} now, so this action is not available."
        )
    if not has_transition_perm(method, actor):
        raise ActionNotPermitted("You are not allowed to do that on this case.")
    if not can_proceed(method):
        raise TransitionNotAllowed(refused or "This action is not available on this case now.")
    fire_transition(case, transition, args=args, now=now or timezone.now())
    case.save()
    service_levels.status_changed(case, case.last_activity_at)
    return record_event(
        case,
        transition,
        actor=actor,
        reason=reason,
        from_status=from_status,
        created_at=case.last_activity_at,
    )


def _columns(case: Case) -> dict[str, object]:
    return {field.attname: getattr(case, field.attname) for field in Case._meta.concrete_fields}


def fire_transition(
    case: Case, transition: str, *, now: datetime, args: Sequence = ()
) -> dict[str, object]:
    """Run `transition` on the case in memory (no checks, no save) and stamp the activity.

    Returns the columns it changed with their new values: what a save writes, and what
    the sweep writes in bulk for many cases at once.
    """
    before = _columns(case)
    getattr(case, transition)(*args)
    case.last_activity_at = case.updated_at = now
    after = _columns(case)
    return {name: value for name, value in after.items() if value != before[name]}


def new_event(
    case: Case,
    transition: str,
    *,
    actor,
    reason: str,
    kind: Actor | None = None,
    from_status: str | None = None,
    to_status: str | None = None,
    created_at: datetime | None = None,
) -> CaseEvent:
    """One history entry, unsaved (the sweep writes them in bulk). The statuses default to
    the case's current one: an entry that records something other than a transition."""
    fields = {
        "case": case,
        "transition": transition,
        "from_status": from_status or case.status,
        "to_status": to_status or case.status,
        "actor": actor,
        "actor_kind": kind or actor_kind(actor),
        "reason": reason,
    }
    if created_at is not None:
        fields["created_at"] = created_at
    return CaseEvent(**fields)


def record_event(case: Case, transition: str, **fields) -> CaseEvent:
    """Write one history entry (see `new_event`)."""
    event = new_event(case, transition, **fields)
    event.save(force_insert=True)
    return event


def require_engineer(user) -> None:
    if not is_engineer(None, user):
        raise ActionNotPermitted("Only support engineers can do that.")


def require_customer(case: Case, user) -> None:
    if not is_case_customer(case, user):
        raise ActionNotPermitted("You are not allowed to do that on this case.")


def add_message(
    case: Case,
    *,
    author,
    body: str,
    author_kind: Actor,
    is_internal: bool = False,
    source: MessageSource = MessageSource.WEB,
    info_request_kind: str = "",
    attachments: Iterable[UploadedFile] = (),
    email_message_id: str = "",
) -> Message:
    body = body.strip()
    if not body:
        raise CaseActionError("Please write a message.")
    message = Message.objects.create(
        case=case,
        author=author,
        author_kind=author_kind,
        body=body,
        is_internal=is_internal,
        source=source,
        info_request_kind=info_request_kind,
        email_message_id=email_message_id,
    )
    if author_kind == Actor.ENGINEER and not is_internal:
        service_levels.engineer_replied(case, message.created_at)
    for upload in attachments:
        Attachment.objects.create(
            message=message,
            file=upload,
            filename=clean_filename(upload.name),
            content_type=getattr(upload, "verified_content_type", "application/octet-stream"),
            size=upload.size,
        )
    return message


def notify_assignee(case: Case, kind: NotificationKind, *, event=None, message=None) -> None:
    if case.assignee_id and case.assignee.is_active:
        outbox.queue(case, kind, recipient=case.assignee, event=event, message=message)


def customers_to_tell(case: Case) -> list:
    """Who a customer email about the case goes to: the requester and each participant,
    oldest first, while they are customers of it (`Case.is_customer`: active, members of
    its organisation). Organisation admins see the case but are not emailed about it."""
    return customers_to_tell_many([case])[case.pk]


def customers_to_tell_many(cases: Iterable[Case]) -> dict[int, list]:
    """`customers_to_tell` for many cases (the sweep's batch): one query for all their
    participants."""
    from cases.models import CaseParticipant

    by_pk = {case.pk: case for case in cases}
    people: dict[int, list] = {
        pk: [case.requester] if case.is_customer(case.requester) else []
        for pk, case in by_pk.items()
    }
    participants = (
        CaseParticipant.objects.filter(case_id__in=list(by_pk))
        .select_related("user__membership")
        .order_by("case_id", "added_at", "id")
    )
    for participant in participants:
        case = by_pk[participant.case_id]
        # The row is the answer `is_customer` would look for: no query per person.
        case.remember_participant(participant.user)
        if case.is_customer(participant.user):
            people[case.pk].append(participant.user)
    return people


def notify_customers(
    case: Case, kind: NotificationKind, *, event=None, message=None, skip=None
) -> int:
    """Queue a customer email to everyone who follows the case (`customers_to_tell`),
    but `skip`: the customer who caused it is not told what they just did. Returns how
    many were queued."""
    return sum(
        outbox.queue(case, kind, recipient=person, event=event, message=message) is not None
        for person in customers_to_tell(case)
        if skip is None or person.pk != skip.pk
    )
