"""What a customer does to a case: open, reply, confirm or dispute a resolution.

`case_close` and `case_reopen` serve customers and engineers alike: the transition's
permission decides who may.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from cases import outbox, service_levels
from cases.exceptions import ActionNotPermitted, CaseActionError, TransitionNotAllowed
from cases.models import (
    Actor,
    Case,
    CaseEvent,
    InfoRequestKind,
    Message,
    MessageSource,
    NotificationKind,
    Priority,
    Rating,
    Status,
    is_engineer,
)
from cases.services import participants
from cases.services.common import (
    actor_kind,
    add_message,
    apply_transition,
    lock_case,
    notify_assignee,
    notify_customers,
    record_event,
    require_customer,
)
from cases.text import clean_line

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
    colleagues: Iterable[str] = (),
) -> Case:
    """Open a case in New for a customer of an organisation.

    Writes the case, its first thread message (the description, with attachments) and
    the history entry "opened". `follow_up_of` links a case started by an email reply
    to a closed one. Queues the acknowledgement to the requester and, for P1 and P2,
    the alert to the engineers (P3 and P4 wait for the daily digest).

    `colleagues`: addresses of colleagues to share the case with at once (see
    `participants.case_add_participants`). Any that may not be added refuses the
    whole case (`ParticipantsRefused`): nothing is opened.
    """
    membership = getattr(requester, "membership", None)
    if membership is None:
        raise ActionNotPermitted("Your account is not part of an organisation yet.")
    colleagues = list(colleagues)
    sharing_with = []
    if colleagues:
        opening = Case(requester=requester, organisation_id=membership.organisation_id)
        sharing_with = participants.colleagues_for(opening, colleagues)
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
    service_levels.case_opened(case, now)
    add_message(
        case,
        author=requester,
        author_kind=Actor.CUSTOMER,
        body=description,
        attachments=attachments,
        source=source,
        email_message_id=email_message_id,
    )
    event = record_event(
        case,
        "open",
        actor=requester,
        kind=Actor.CUSTOMER,
        reason="Case opened",
        from_status=Status.NEW,
        to_status=Status.NEW,
        created_at=now,
    )
    # The acknowledgement is the requester's alone; colleagues added below are told
    # the case was shared with them.
    outbox.queue(case, NotificationKind.CASE_OPENED, recipient=requester, event=event)
    if case.priority in URGENT_PRIORITIES:
        outbox.queue_new_case_alert(case, event=event)
    if sharing_with:
        participants.add_colleagues(case, sharing_with, actor=requester)
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
    case = lock_case(case)
    now = timezone.now()
    if is_engineer(case, author):
        if case.status == Status.CLOSED:
            raise TransitionNotAllowed("This case is closed: reopen it before replying.")
        message = add_message(
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
        notify_customers(case, NotificationKind.ENGINEER_REPLY, message=message)
        return message

    require_customer(case, author)
    if not case.customer_may_reply(author, by_email=source == MessageSource.EMAIL):
        raise TransitionNotAllowed(
            "This case was closed, so your reply was not sent. Reopen Case sends it with the case."
            if case.status == Status.CLOSED
            else "You cannot reply to this case now."
        )
    message = add_message(
        case,
        author=author,
        author_kind=Actor.CUSTOMER,
        body=body,
        source=source,
        attachments=attachments,
        email_message_id=email_message_id,
    )
    case.last_customer_activity_at = now
    transition = case.reply_transition()
    if transition == "receive_customer_reply":
        event = apply_transition(case, transition, actor=author, reason="Customer replied")
        notify_assignee(case, NotificationKind.CUSTOMER_REPLIED, event=event, message=message)
    elif transition == "reopen":
        reason = (
            "Customer replied to a resolved case (objection)"
            if case.status == Status.RESOLVED
            else "Customer replied to a closed case"
        )
        event = apply_transition(case, transition, actor=author, reason=reason)
        _notify_reopened(case, event, message=message)
    else:
        case.last_activity_at = now
        case.save(update_fields=["last_activity_at", "last_customer_activity_at", "updated_at"])
        notify_assignee(case, NotificationKind.CUSTOMER_REPLIED, message=message)
    service_levels.customer_wrote(case, now)
    return message


@transaction.atomic
def case_reply_thanks(
    *, case: Case, author, body: str, source: MessageSource, email_message_id: str = ""
) -> Message:
    """A customer's reply that only says thanks (see `cases.inbound.thanks`): no objection.

    On a Resolved case the message joins the thread and the case stays resolved (its
    clock keeps running); the history says so, the assigned engineer is told and the
    customer is emailed how to confirm or reopen. In any other status, by the time the
    row is locked, it is an ordinary `case_reply()`.
    """
    case = lock_case(case)
    if case.status != Status.RESOLVED:
        return case_reply(
            case=case, author=author, body=body, source=source, email_message_id=email_message_id
        )
    require_customer(case, author)
    message = add_message(
        case,
        author=author,
        author_kind=Actor.CUSTOMER,
        body=body,
        source=source,
        email_message_id=email_message_id,
    )
    case.last_activity_at = case.last_customer_activity_at = message.created_at
    case.save(update_fields=["last_activity_at", "last_customer_activity_at", "updated_at"])
    event = record_event(
        case,
        "thanks",
        actor=author,
        kind=Actor.CUSTOMER,
        reason="Customer replied with thanks only; the case stays resolved",
        from_status=Status.RESOLVED,
        to_status=Status.RESOLVED,
        created_at=message.created_at,
    )
    outbox.queue(
        case, NotificationKind.THANKS_RECEIVED, recipient=author, event=event, message=message
    )
    notify_assignee(case, NotificationKind.CUSTOMER_REPLIED, event=event, message=message)
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
    previous = lock_case(closed_case)
    require_customer(previous, author)
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
    record_event(
        previous,
        "follow_up",
        actor=author,
        kind=Actor.CUSTOMER,
        reason=f"Customer replied by email; follow-up case {case.reference} opened",
        from_status=Status.CLOSED,
        to_status=Status.CLOSED,
    )
    # Its history changed, and so its update time.
    previous.save(update_fields=["updated_at"])
    return case


@transaction.atomic
def case_answer_approval(*, case: Case, customer, approved: bool, comment: str = "") -> Message:
    """Answer an engineer's request for approval; recorded in the thread as a reply."""
    locked = lock_case(case)
    require_customer(locked, customer)
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
    # Everyone who follows the case, whoever reopened it: the email says who has it now.
    notify_customers(case, NotificationKind.REOPENED, event=event)
    if event.actor_kind == Actor.CUSTOMER:
        # The engineer sees why the customer reopened it.
        notify_assignee(case, NotificationKind.CUSTOMER_REOPENED, event=event, message=message)


@transaction.atomic
def case_mark_resolved(*, case: Case, customer) -> Case:
    """A customer marks the case resolved: the 7-day clock starts. The engineer is told,
    and the other customers get the resolved email (confirm, or reopen); no email to the
    one who did it."""
    case = lock_case(case)
    require_customer(case, customer)
    event = apply_transition(
        case, "mark_resolved", actor=customer, reason="Marked resolved by the customer"
    )
    notify_assignee(case, NotificationKind.CUSTOMER_RESOLVED, event=event)
    notify_customers(case, NotificationKind.RESOLVED, event=event, skip=customer)
    return case


@transaction.atomic
def case_confirm_resolution(*, case: Case, customer, rating: str = "", comment: str = "") -> Case:
    """The customer confirms a Resolved case worked (Confirm it worked): Closed at once.

    `rating` ("good" or "bad", optional) answers "Did this solve your problem?", with an
    optional comment; both are stored on the case. Writes the history entry saying the
    customer confirmed and queues the emails telling the assigned engineer and the
    other customers of the case.
    """
    if rating and rating not in Rating.values:
        raise CaseActionError("Choose whether this solved your problem, or leave it blank.")
    case = lock_case(case)
    require_customer(case, customer)
    comment = comment.strip()
    reason = "The customer confirmed it worked"
    if rating:
        reason += f" (rated: {Rating(rating).label})"
    event = apply_transition(
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
    notify_assignee(case, NotificationKind.CUSTOMER_CONFIRMED, event=event)
    notify_customers(case, NotificationKind.CLOSED, event=event, skip=customer)
    return case


@transaction.atomic
def case_close(*, case: Case, actor, reason: str = "") -> Case:
    """Close a case now, by its customer or an engineer. Closed cases stay in history.

    Everyone else is told: the assigned engineer when a customer closed it, and the
    customers (requester and participants) but the one who closed it.
    """
    case = lock_case(case)
    if not is_engineer(case, actor):
        require_customer(case, actor)
    by_customer = actor_kind(actor) == Actor.CUSTOMER
    default_reason = "Closed by the customer" if by_customer else "Closed by engineer"
    event = apply_transition(case, "close", actor=actor, reason=reason.strip() or default_reason)
    if by_customer:
        notify_assignee(case, NotificationKind.CUSTOMER_CLOSED, event=event)
    notify_customers(case, NotificationKind.CLOSED, event=event, skip=actor)
    return case


@transaction.atomic
def case_reopen(*, case: Case, actor, message: str = "") -> Case:
    """Reopen a Resolved or Closed case: the same case, history kept.

    It goes back to the original engineer (Open) while that engineer is still an
    active engineer, else to New, unassigned. An optional message joins the thread.
    """
    case = lock_case(case)
    if not is_engineer(case, actor):
        require_customer(case, actor)
    kind = actor_kind(actor)
    event = apply_transition(
        case,
        "reopen",
        actor=actor,
        reason="Reopened by the customer" if kind == Actor.CUSTOMER else "Reopened by engineer",
        refused="Only resolved or closed cases can be reopened.",
    )
    posted = None
    if message.strip():
        posted = add_message(case, author=actor, author_kind=kind, body=message)
    if kind == Actor.CUSTOMER:
        case.last_customer_activity_at = event.created_at
        case.save(update_fields=["last_customer_activity_at", "updated_at"])
        service_levels.customer_wrote(case, event.created_at)
    _notify_reopened(case, event, message=posted)
    return case
