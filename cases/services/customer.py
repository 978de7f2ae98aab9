"""Use cases: the only code that changes a case.

Each service locks the case row, checks the transition is allowed for this actor now,
applies it, and writes the history entry and any notifications in the same
transaction. Emails are handed to the workers only after commit (see
`cases.notifications`), so a rollback never sends anything and a lost task is picked
up again by the relay.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django_fsm import can_proceed, has_transition_perm

from cases.attachments import clean_filename
from cases.exceptions import ActionNotPermitted, CaseActionError, TransitionNotAllowed
from cases.models import (
    Actor,
    Attachment,
    Case,
    CaseEvent,
    InfoRequestKind,
    Message,
    MessageSource,
    NotificationKind,
    Priority,
    Rating,
    Status,
)
from cases.outbox import delivery as notifications
from cases.text import clean_line

logger = logging.getLogger(__name__)


# --- Internals ------------------------------------------------------------------------


def _lock(case: Case | int) -> Case:
    """The case, locked for a change."""
    pk = case.pk if isinstance(case, Case) else case
    locked = (
        Case.objects.select_for_update(of=("self",))
        .select_related("requester", "assignee", "original_engineer")
        .get(pk=pk)
    )
    return locked


def _actor_kind(user) -> Actor:
    if user is None:
        return Actor.SCHEDULER
    return Actor.ENGINEER if user.is_support_engineer else Actor.CUSTOMER


def _apply(
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
    method(*args)
    case.last_activity_at = now or timezone.now()
    case.save()
    return CaseEvent.objects.create(
        case=case,
        transition=transition,
        from_status=from_status,
        to_status=case.status,
        actor=actor,
        actor_kind=_actor_kind(actor),
        reason=reason,
        created_at=case.last_activity_at,
    )


def _require_engineer(user) -> None:
    if not (user and user.is_authenticated and user.is_support_engineer):
        raise ActionNotPermitted("Only support engineers can do that.")


def _require_customer(case: Case, user) -> None:
    if not (user and user.is_authenticated and case.is_customer(user)):
        raise ActionNotPermitted("You are not allowed to do that on this case.")


def _add_message(
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
    for upload in attachments:
        Attachment.objects.create(
            message=message,
            file=upload,
            filename=clean_filename(upload.name),
            content_type=getattr(upload, "verified_content_type", "application/octet-stream"),
            size=upload.size,
        )
    return message


def _notify_assignee(case: Case, kind: NotificationKind, *, event=None, message=None) -> None:
    if case.assignee_id and case.assignee.is_active:
        notifications.queue(case, kind, recipient=case.assignee, event=event, message=message)


def _notify_requester(case: Case, kind: NotificationKind, *, event=None, message=None) -> None:
    if case.requester.is_active:
        notifications.queue(case, kind, recipient=case.requester, event=event, message=message)


# New cases the engineers are alerted to at once; the others wait for the daily digest.
URGENT_PRIORITIES = (Priority.P1, Priority.P2)


# --- Customer use cases ---------------------------------------------------------------


@transaction.atomic
def case_open(
    *,
    requester,
    subject: str,
    description: str,
    priority: int,
    attachments: Iterable[UploadedFile] = (),
    source: MessageSource = MessageSource.WEB,
    email_message_id: str = "",
    follow_up_of: Case | None = None,
) -> Case:
    """Open a case in New for a customer of an organisation.

    Writes the case, its first thread message (the description, with attachments) and
    the history entry "opened". `follow_up_of` links a case started by an email reply
    to a closed one. Queues the acknowledgement to the requester and, for P1 and P2,
    the alert to the engineers (P3 and P4 wait for the daily digest).
    """
    membership = getattr(requester, "membership", None)
    if membership is None:
        raise ActionNotPermitted("Your account is not part of an organisation yet.")
    now = timezone.now()
    case = Case.objects.create(
        requester=requester,
        organisation_id=membership.organisation_id,
        subject=clean_line(subject),
        description=description.strip(),
        priority=priority,
        created_at=now,
        last_activity_at=now,
        last_customer_activity_at=now,
        follow_up_of=follow_up_of,
    )
    _add_message(
        case,
        author=requester,
        author_kind=Actor.CUSTOMER,
        body=description,
        attachments=attachments,
        source=source,
        email_message_id=email_message_id,
    )
    event = CaseEvent.objects.create(
        case=case,
        transition="open",
        from_status=Status.NEW,
        to_status=Status.NEW,
        actor=requester,
        actor_kind=Actor.CUSTOMER,
        reason="Case opened",
        created_at=now,
    )
    _notify_requester(case, NotificationKind.CASE_OPENED, event=event)
    if case.priority in URGENT_PRIORITIES:
        notifications.queue_new_case_alert(case, event=event)
    return case


@transaction.atomic
def case_reply(
    *,
    case: Case,
    author,
    body: str,
    attachments: Iterable[UploadedFile] = (),
    source: MessageSource = MessageSource.WEB,
    email_message_id: str = "",
) -> Message:
    """Add a public reply to the thread, from the customer or an engineer.

    A customer's reply unblocks a Pending Customer case (back to Open or In Progress,
    clock stopped), counts as an objection on a Resolved case and reopens a Closed one;
    in any other status it only joins the thread. The assigned engineer is told. An
    engineer's public reply changes no status and is emailed to the customer.
    """
    case = _lock(case)
    now = timezone.now()
    if author is not None and author.is_support_engineer:
        if case.status == Status.CLOSED:
            raise TransitionNotAllowed("This case is closed: reopen it before replying.")
        message = _add_message(
            case,
            author=author,
            author_kind=Actor.ENGINEER,
            body=body,
            source=source,
            attachments=attachments,
            email_message_id=email_message_id,
        )
        case.last_activity_at = now
        case.save(update_fields=["last_activity_at", "updated_at"])
        _notify_requester(case, NotificationKind.ENGINEER_REPLY, message=message)
        return message

    _require_customer(case, author)
    message = _add_message(
        case,
        author=author,
        author_kind=Actor.CUSTOMER,
        body=body,
        source=source,
        attachments=attachments,
        email_message_id=email_message_id,
    )
    case.last_customer_activity_at = now
    if case.status == Status.PENDING_CUSTOMER:
        event = _apply(case, "receive_customer_reply", actor=author, reason="Customer replied")
        _notify_assignee(case, NotificationKind.CUSTOMER_REPLIED, event=event, message=message)
    elif case.status in (Status.RESOLVED, Status.CLOSED):
        reason = (
            "Customer replied to a resolved case (objection)"
            if case.status == Status.RESOLVED
            else "Customer replied to a closed case"
        )
        event = _apply(case, "reopen", actor=author, reason=reason)
        _notify_reopened(case, event, message=message)
    else:
        case.last_activity_at = now
        case.save(update_fields=["last_activity_at", "last_customer_activity_at", "updated_at"])
        _notify_assignee(case, NotificationKind.CUSTOMER_REPLIED, message=message)
    return message


@transaction.atomic
def case_reply_thanks(
    *, case: Case, author, body: str, source: MessageSource, email_message_id: str = ""
) -> Message:
    """A customer's reply that only says thanks (see `cases.thanks`): no objection.

    On a Resolved case the message joins the thread and the case stays resolved (its
    clock keeps running); the history says so, the assigned engineer is told and the
    customer is emailed how to confirm or reopen. In any other status, by the time the
    row is locked, it is an ordinary `case_reply()`.
    """
    case = _lock(case)
    if case.status != Status.RESOLVED:
        return case_reply(
            case=case, author=author, body=body, source=source, email_message_id=email_message_id
        )
    _require_customer(case, author)
    message = _add_message(
        case,
        author=author,
        author_kind=Actor.CUSTOMER,
        body=body,
        source=source,
        email_message_id=email_message_id,
    )
    case.last_activity_at = case.last_customer_activity_at = message.created_at
    case.save(update_fields=["last_activity_at", "last_customer_activity_at", "updated_at"])
    event = CaseEvent.objects.create(
        case=case,
        transition="thanks",
        from_status=Status.RESOLVED,
        to_status=Status.RESOLVED,
        actor=author,
        actor_kind=Actor.CUSTOMER,
        reason="Customer replied with thanks only; the case stays resolved",
        created_at=message.created_at,
    )
    notifications.queue(
        case, NotificationKind.THANKS_RECEIVED, recipient=author, event=event, message=message
    )
    _notify_assignee(case, NotificationKind.CUSTOMER_REPLIED, event=event, message=message)
    return message


@transaction.atomic
def case_follow_up_by_email(
    *,
    closed_case: Case,
    author,
    body: str,
    attachments: Iterable[UploadedFile] = (),
    email_message_id: str = "",
) -> Case:
    """A customer's emailed reply to a Closed case starts a new case linked to it.

    Used when `CASE_EMAIL_REPLY_TO_CLOSED` is "new_case". The closed case stays closed;
    its history records which case followed it up.
    """
    previous = _lock(closed_case)
    _require_customer(previous, author)
    if previous.status != Status.CLOSED:
        raise TransitionNotAllowed("Only a closed case is followed up by a new case.")
    case = case_open(
        requester=author,
        subject=f"Follow-up to {previous.reference}: {previous.subject}"[:200],
        description=body,
        priority=previous.priority,
        attachments=attachments,
        source=MessageSource.EMAIL,
        email_message_id=email_message_id,
        follow_up_of=previous,
    )
    CaseEvent.objects.create(
        case=previous,
        transition="follow_up",
        from_status=Status.CLOSED,
        to_status=Status.CLOSED,
        actor=author,
        actor_kind=Actor.CUSTOMER,
        reason=f"Customer replied by email; follow-up case {case.reference} opened",
    )
    # Its history changed: the case page (cached until the case is saved) shows it.
    previous.save(update_fields=["updated_at"])
    return case


@transaction.atomic
def case_answer_approval(*, case: Case, customer, approved: bool, comment: str = "") -> Message:
    """Answer an engineer's request for approval; recorded in the thread as a reply."""
    locked = _lock(case)
    _require_customer(locked, customer)
    if not (
        locked.status == Status.PENDING_CUSTOMER
        and locked.info_request_kind == InfoRequestKind.APPROVAL
    ):
        raise TransitionNotAllowed("There is no approval waiting for your answer on this case.")
    answer = (
        "Approved: go ahead with the change."
        if approved
        else "Declined: please do not make the change."
    )
    body = f"{answer}\n\n{comment.strip()}" if comment.strip() else answer
    return case_reply(case=locked, author=customer, body=body)


def _notify_reopened(case: Case, event: CaseEvent, *, message: Message | None = None) -> None:
    _notify_requester(case, NotificationKind.REOPENED, event=event)
    if event.actor_kind == Actor.CUSTOMER:
        # The engineer sees why the customer reopened it.
        _notify_assignee(case, NotificationKind.CUSTOMER_REOPENED, event=event, message=message)


@transaction.atomic
def case_mark_resolved(*, case: Case, customer) -> Case:
    """The customer marks their own case resolved: the 7-day clock starts, no email to them."""
    case = _lock(case)
    _require_customer(case, customer)
    event = _apply(case, "mark_resolved", actor=customer, reason="Marked resolved by the customer")
    _notify_assignee(case, NotificationKind.CUSTOMER_RESOLVED, event=event)
    return case


@transaction.atomic
def case_confirm_resolution(*, case: Case, customer, rating: str = "", comment: str = "") -> Case:
    """The customer confirms a Resolved case worked (Confirm it worked): Closed at once.

    `rating` ("good" or "bad", optional) answers "Did this solve your problem?", with an
    optional comment; both are stored on the case. Writes the history entry saying the
    customer confirmed and queues the email telling the assigned engineer.
    """
    if rating and rating not in Rating.values:
        raise CaseActionError("Choose whether this solved your problem, or leave it blank.")
    case = _lock(case)
    _require_customer(case, customer)
    comment = comment.strip()
    reason = "The customer confirmed it worked"
    if rating:
        reason += f" (rated: {Rating(rating).label})"
    event = _apply(
        case,
        "confirm",
        actor=customer,
        args=(rating, comment),
        reason=reason,
        refused=f"This case is {case.get_status_display()} now: only a resolved case "
        "can be confirmed.",
    )
    case.last_customer_activity_at = event.created_at
    case.save(update_fields=["last_customer_activity_at", "updated_at"])
    _notify_assignee(case, NotificationKind.CUSTOMER_CONFIRMED, event=event)
    return case


@transaction.atomic
def case_close(*, case: Case, actor, reason: str = "") -> Case:
    """Close a case now, by its customer or an engineer. Closed cases stay in history.

    The other side is told: the assigned engineer when the customer closed it, the
    requester when an engineer did.
    """
    case = _lock(case)
    if actor is None or not actor.is_support_engineer:
        _require_customer(case, actor)
    by_customer = _actor_kind(actor) == Actor.CUSTOMER
    default_reason = "Closed by the customer" if by_customer else "Closed by engineer"
    event = _apply(case, "close", actor=actor, reason=reason.strip() or default_reason)
    if by_customer:
        _notify_assignee(case, NotificationKind.CUSTOMER_CLOSED, event=event)
    else:
        _notify_requester(case, NotificationKind.CLOSED, event=event)
    return case


@transaction.atomic
def case_reopen(*, case: Case, actor, message: str = "") -> Case:
    """Reopen a Resolved or Closed case: the same case, history kept.

    It goes back to the original engineer (Open) while that engineer is still an
    active engineer, else to New, unassigned. An optional message joins the thread.
    """
    case = _lock(case)
    if actor is None or not actor.is_support_engineer:
        _require_customer(case, actor)
    kind = _actor_kind(actor)
    event = _apply(
        case,
        "reopen",
        actor=actor,
        reason="Reopened by the customer" if kind == Actor.CUSTOMER else "Reopened by engineer",
        refused="Only resolved or closed cases can be reopened.",
    )
    posted = None
    if message.strip():
        posted = _add_message(case, author=actor, author_kind=kind, body=message)
    if kind == Actor.CUSTOMER:
        case.last_customer_activity_at = event.created_at
        case.save(update_fields=["last_customer_activity_at", "updated_at"])
    _notify_reopened(case, event, message=posted)
    return case


# --- Engineer use cases ---------------------------------------------------------------


@transaction.atomic
def case_assign(*, case: Case, engineer, assignee=None) -> Case:
    """Assign a New case to an engineer (`engineer` themselves by default): it becomes Open.

    The first engineer assigned becomes the case's original engineer.
    """
    _require_engineer(engineer)
    assignee = assignee or engineer
    if not assignee.is_support_engineer:
        raise CaseActionError(f"{assignee} is not an active support engineer.")
    case = _lock(case)
    reason = "Taken" if assignee == engineer else f"Assigned to {assignee}"
    _apply(
        case,
        "assign",
        actor=engineer,
        args=(assignee,),
        reason=reason,
        refused="This case has been assigned already.",
    )
    return case


@transaction.atomic
def case_reassign(*, case: Case, engineer, assignee) -> Case:
    """Hand a case that is already being worked to another engineer (no status change)."""
    _require_engineer(engineer)
    if assignee is None or not assignee.is_support_engineer:
        raise CaseActionError("Choose an active support engineer.")
    case = _lock(case)
    if case.status in (Status.NEW, Status.CLOSED):
        raise TransitionNotAllowed(
            "Assign a New case with Take/Assign; reopen a Closed case first."
        )
    if case.assignee_id == assignee.pk:
        return case
    case.assignee = assignee
    if case.original_engineer_id is None:
        case.original_engineer = assignee
    case.last_activity_at = timezone.now()
    case.save(update_fields=["assignee", "original_engineer", "last_activity_at", "updated_at"])
    CaseEvent.objects.create(
        case=case,
        transition="reassign",
        from_status=case.status,
        to_status=case.status,
        actor=engineer,
        actor_kind=Actor.ENGINEER,
        reason=f"Reassigned to {assignee}",
        created_at=case.last_activity_at,
    )
    return case


@transaction.atomic
def case_start_work(*, case: Case, engineer) -> Case:
    """Open -> In Progress."""
    _require_engineer(engineer)
    case = _lock(case)
    _apply(case, "start_work", actor=engineer, reason="Work started")
    return case


@transaction.atomic
def case_request_info(*, case: Case, engineer, message: str, kind: str) -> Case:
    """Ask the customer for information: Pending Customer, 14-day clock (re)started.

    The engineer's message is required and is posted to the thread; the customer is
    emailed with it and with the date the case closes without a reply.
    """
    _require_engineer(engineer)
    if not message or not message.strip():
        raise CaseActionError("Write the message to the customer saying what you need.")
    if kind not in InfoRequestKind.values:
        raise CaseActionError("Choose what you are asking the customer for.")
    case = _lock(case)
    event = _apply(
        case,
        "request_info",
        actor=engineer,
        args=(kind,),
        reason=f"Requested: {InfoRequestKind(kind).label}",
    )
    posted = _add_message(
        case,
        author=engineer,
        author_kind=Actor.ENGINEER,
        body=message,
        info_request_kind=kind,
        source=MessageSource.ADMIN,
    )
    _notify_requester(case, NotificationKind.PENDING_CUSTOMER, event=event, message=posted)
    return case


@transaction.atomic
def case_resolve(*, case: Case, engineer, message: str = "") -> Case:
    """An engineer resolves the case: 7-day clock; the customer is asked to confirm or reopen."""
    _require_engineer(engineer)
    case = _lock(case)
    event = _apply(case, "resolve", actor=engineer, reason="Resolved by engineer")
    posted = None
    if message.strip():
        posted = _add_message(
            case,
            author=engineer,
            author_kind=Actor.ENGINEER,
            body=message,
            source=MessageSource.ADMIN,
        )
    _notify_requester(case, NotificationKind.RESOLVED, event=event, message=posted)
    return case


@transaction.atomic
def case_add_internal_note(
    *,
    case: Case,
    engineer,
    body: str,
    source: MessageSource = MessageSource.ADMIN,
    email_message_id: str = "",
) -> Message:
    """An engineers-only note in the thread: never shown or emailed to customers."""
    _require_engineer(engineer)
    case = _lock(case)
    return _add_message(
        case,
        author=engineer,
        author_kind=Actor.ENGINEER,
        body=body,
        is_internal=True,
        source=source,
        email_message_id=email_message_id,
    )


@transaction.atomic
def case_update_details(*, case: Case, engineer, subject: str, priority: int) -> Case:
    """An engineer corrects a case's subject or priority; the change joins the history.

    The status never changes here. Nothing is written when nothing changed.
    """
    _require_engineer(engineer)
    subject = clean_line(subject)
    if not subject:
        raise CaseActionError("A case needs a subject.")
    if priority not in Priority.values:
        raise CaseActionError("Choose a priority.")
    case = _lock(case)
    changes = []
    if case.subject != subject:
        changes.append(f"Subject “{case.subject}” → “{subject}”")
    if case.priority != priority:
        changes.append(f"Priority {Priority(case.priority).label} → {Priority(priority).label}")
    if not changes:
        return case
    case.subject = subject
    case.priority = priority
    case.last_activity_at = timezone.now()
    case.save(update_fields=["subject", "priority", "last_activity_at", "updated_at"])
    CaseEvent.objects.create(
        case=case,
        transition="update",
        from_status=case.status,
        to_status=case.status,
        actor=engineer,
        actor_kind=Actor.ENGINEER,
        reason="; ".join(changes),
        created_at=case.last_activity_at,
    )
    return case


@transaction.atomic
def case_hold_auto_close(*, case: Case, reason: str) -> Case:
    """Stop a Pending Customer clock from closing the case (e.g. the question bounced)."""
    case = _lock(case)
    if case.status == Status.PENDING_CUSTOMER and case.auto_close_held_reason != reason:
        case.auto_close_held_reason = reason[:200]
        case.save(update_fields=["auto_close_held_reason", "updated_at"])
    return case


# --- Scheduler ------------------------------------------------------------------------


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
        event = _apply(case, "auto_close", actor=None, reason=_auto_close_reason(case.status))
        _notify_requester(case, NotificationKind.AUTO_CLOSED, event=event)
        _notify_assignee(case, NotificationKind.ENGINEER_AUTO_CLOSED, event=event)
        return case


def _auto_close_reason(status: str) -> str:
    if status == Status.PENDING_CUSTOMER:
        days = settings.CASE_PENDING_CUSTOMER_AUTO_CLOSE_DAYS
        return f"No reply for {days} days on Pending Customer"
    return f"Resolved with no objection for {settings.CASE_RESOLVED_AUTO_CLOSE_DAYS} days"


SWEEP_BATCHES_PER_READ = 40

# What the auto_close transition changes on a case (written in bulk by the sweep).
AUTO_CLOSE_FIELDS = [
    "status",
    "return_status",
    "info_request_kind",
    "pending_since",
    "auto_close_held_reason",
    "closed_at",
    "closed_for_no_reply",
    "last_activity_at",
    "updated_at",
]


@transaction.atomic
def _auto_close_batch(case_ids: Sequence[int]) -> list[Case]:
    """`case_auto_close` for a batch: the same checks per case, written with bulk statements.

    Cases locked by someone else (a reply in flight) are skipped for the next sweep;
    each locked case is re-checked before it closes.
    """
    cases = (
        Case.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("requester", "assignee")
        .filter(pk__in=case_ids)
        .order_by("pk")
    )
    now = timezone.now()
    closing: list[Case] = []
    events: list[CaseEvent] = []
    for case in cases:
        if not (can_proceed(case.auto_close) and has_transition_perm(case.auto_close, None)):
            continue
        was = case.status
        case.auto_close()
        # One instant for the whole batch, so that it is written with one UPDATE.
        case.closed_at = case.last_activity_at = case.updated_at = now
        closing.append(case)
        events.append(
            CaseEvent(
                case=case,
                transition="auto_close",
                from_status=was,
                to_status=case.status,
                actor=None,
                actor_kind=Actor.SCHEDULER,
                reason=_auto_close_reason(was),
                created_at=now,
            )
        )
    if not closing:
        return []
    # Cases that close alike are written together (bulk_update's CASE per row and
    # field is slow to build); normally the whole batch is one group.
    groups: dict[tuple, list[int]] = defaultdict(list)
    for case in closing:
        groups[tuple(getattr(case, name) for name in AUTO_CLOSE_FIELDS)].append(case.pk)
    for values, pks in groups.items():
        Case.objects.filter(pk__in=pks).update(**dict(zip(AUTO_CLOSE_FIELDS, values, strict=True)))
    CaseEvent.objects.bulk_create(events)
    emails = []
    for case, event in zip(closing, events, strict=True):
        if case.requester.is_active:
            emails.append((case, NotificationKind.AUTO_CLOSED, event, case.requester))
        if case.assignee_id and case.assignee.is_active:
            emails.append((case, NotificationKind.ENGINEER_AUTO_CLOSED, event, case.assignee))
    notifications.queue_many(emails)
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

    batch_size = batch_size or settings.CASE_SWEEP_BATCH_SIZE
    closed: list[Case] = []
    after_id = 0
    while True:
        # Due ids are read many batches at a time: each read walks every due entry
        # of the clock indexes, so reading per batch made the sweep quadratic.
        due = case_ids_due_for_auto_close(
            now=timezone.now(), after_id=after_id, limit=batch_size * SWEEP_BATCHES_PER_READ
        )
        if not due:
            return closed
        for start in range(0, len(due), batch_size):
            ids = due[start : start + batch_size]
            try:
                closed.extend(_auto_close_batch(ids))
            except Exception:
                logger.exception("Auto-close batch after id %s failed; closing one by one", ids[0])
                closed.extend(_auto_close_one_by_one(ids))
        after_id = due[-1]


def _auto_close_one_by_one(case_ids: Sequence[int]) -> list[Case]:
    closed: list[Case] = []
    for case_id in case_ids:
        try:
            case = case_auto_close(case_id=case_id)
        except Exception:
            # Its transaction rolled back; one bad case must not keep every case
            # after it (in id order, each sweep) open past its deadline.
            logger.exception("Could not auto-close case %s; the next sweep retries", case_id)
            continue
        if case is not None:
            closed.append(case)
    return closed


def send_due_reminders() -> int:
    """Queue the reminder emails that are due for Pending Customer cases.

    By default 7 days and 1 day before the automatic close. Only the latest reminder
    that is due is queued (after an outage nobody gets two at once), and each is unique
    per case, clock start and threshold, so reruns queue nothing twice.
    """
    from cases.selectors import case_list_awaiting_reminder

    queued = 0
    now = timezone.now()
    thresholds = sorted(settings.CASE_REMINDER_DAYS_BEFORE)  # e.g. [1, 7]
    if not thresholds:
        return 0
    candidates = case_list_awaiting_reminder(now=now, max_days_before=max(thresholds))
    for case_id in candidates.values_list("pk", flat=True):
        with transaction.atomic():
            # Re-read under the row lock: a reply committed since the query stops the
            # clock, and such a case gets no reminder. A busy case is left to the next run.
            case = (
                Case.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("requester")
                .filter(pk=case_id, status=Status.PENDING_CUSTOMER, auto_close_held_reason="")
                .first()
            )
            deadline = case.auto_close_at if case is not None else None
            if deadline is None or now >= deadline or not case.requester.is_active:
                continue
            due = [d for d in thresholds if now >= deadline - timedelta(days=d)]
            if not due:
                continue
            queued += int(notifications.queue_reminder(case, days_before=min(due)))
    return queued


def send_daily_digests() -> int:
    """Queue today's digest for each engineer who has open cases or while any case waits
    unassigned (P3 and P4 cases are announced here, not one by one). Reruns on the same
    day queue nothing twice."""
    return notifications.queue_daily_digests(day=timezone.localdate())
