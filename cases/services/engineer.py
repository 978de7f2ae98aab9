"""What an engineer does to a case: take, assign, ask, resolve, note, edit."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from cases import service_levels
from cases.exceptions import CaseActionError, TransitionNotAllowed
from cases.models import (
    Actor,
    Case,
    InfoRequestKind,
    Message,
    MessageSource,
    NotificationKind,
    Priority,
    Status,
)
from cases.services.common import (
    add_message,
    apply_transition,
    lock_case,
    notify_customers,
    record_event,
    require_engineer,
)
from cases.text import clean_line

# --- Engineer use cases ---------------------------------------------------------------


@transaction.atomic
def case_assign(*, case: Case, engineer, assignee=None) -> Case:
    """Assign a New case to an engineer (`engineer` themselves by default): it becomes Open.

    The first engineer assigned becomes the case's original engineer.
    """
    require_engineer(engineer)
    assignee = assignee or engineer
    if not assignee.is_support_engineer:
        raise CaseActionError(f"{assignee} is not an active support engineer.")
    case = lock_case(case)
    reason = "Taken" if assignee == engineer else f"Assigned to {assignee}"
    apply_transition(
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
    require_engineer(engineer)
    if assignee is None or not assignee.is_support_engineer:
        raise CaseActionError("Choose an active support engineer.")
    case = lock_case(case)
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
    record_event(
        case,
        "reassign",
        actor=engineer,
        kind=Actor.ENGINEER,
        reason=f"Reassigned to {assignee}",
        created_at=case.last_activity_at,
    )
    return case


@transaction.atomic
def case_give_to(*, case: Case, engineer, assignee=None, seen_status: str = "") -> Case:
    """Take a case (`assignee` left out) or give it to another engineer: a New case is
    assigned (it opens), a case being worked is handed over. Refused on a Closed case,
    and when the case is no longer in `seen_status` (someone took it meanwhile)."""
    require_engineer(engineer)
    case = lock_case(case)
    if seen_status and case.status != seen_status:
        raise TransitionNotAllowed(
            f"This case is {case.get_status_display()} now: someone acted on it first."
        )
    if case.status == Status.NEW:
        return case_assign(case=case, engineer=engineer, assignee=assignee)
    return case_reassign(case=case, engineer=engineer, assignee=assignee or engineer)


@transaction.atomic
def case_start_work(*, case: Case, engineer) -> Case:
    """Open -> In Progress."""
    require_engineer(engineer)
    case = lock_case(case)
    apply_transition(case, "start_work", actor=engineer, reason="Work started")
    return case


@transaction.atomic
def case_request_info(*, case: Case, engineer, message: str, kind: str) -> Case:
    """Ask the customer for information: Pending Customer, 14-day clock (re)started.

    The engineer's message is required and is posted to the thread; the customers (the
    requester and the participants) are emailed with it and with the date the case
    closes without a reply.
    """
    require_engineer(engineer)
    if not message or not message.strip():
        raise CaseActionError("Write the message to the customer saying what you need.")
    if kind not in InfoRequestKind.values:
        raise CaseActionError("Choose what you are asking the customer for.")
    case = lock_case(case)
    event = apply_transition(
        case,
        "request_info",
        actor=engineer,
        args=(kind,),
        reason=f"Requested: {InfoRequestKind(kind).label}",
    )
    posted = add_message(
        case,
        author=engineer,
        author_kind=Actor.ENGINEER,
        body=message,
        info_request_kind=kind,
        source=MessageSource.ADMIN,
    )
    notify_customers(case, NotificationKind.PENDING_CUSTOMER, event=event, message=posted)
    return case


@transaction.atomic
def case_resolve(*, case: Case, engineer, message: str = "") -> Case:
    """An engineer resolves the case: 7-day clock; the customers are asked to confirm or
    reopen."""
    require_engineer(engineer)
    case = lock_case(case)
    event = apply_transition(case, "resolve", actor=engineer, reason="Resolved by engineer")
    posted = None
    if message.strip():
        posted = add_message(
            case,
            author=engineer,
            author_kind=Actor.ENGINEER,
            body=message,
            source=MessageSource.ADMIN,
        )
    notify_customers(case, NotificationKind.RESOLVED, event=event, message=posted)
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
    require_engineer(engineer)
    case = lock_case(case)
    return add_message(
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
    require_engineer(engineer)
    subject = clean_line(subject)
    if not subject:
        raise CaseActionError("A case needs a subject.")
    if priority not in Priority.values:
        raise CaseActionError("Choose a priority.")
    case = lock_case(case)
    changes = []
    if case.subject != subject:
        changes.append(f"Subject “{case.subject}” → “{subject}”")
    if case.priority != priority:
        changes.append(f"Priority {Priority(case.priority).label} → {Priority(priority).label}")
    if not changes:
        return case
    priority_changed = case.priority != priority
    case.subject = subject
    case.priority = priority
    case.last_activity_at = timezone.now()
    case.save(update_fields=["subject", "priority", "last_activity_at", "updated_at"])
    record_event(
        case,
        "update",
        actor=engineer,
        kind=Actor.ENGINEER,
        reason="; ".join(changes),
        created_at=case.last_activity_at,
    )
    if priority_changed:
        service_levels.recompute(
            case, actor=engineer, because="Priority changed", now=case.last_activity_at
        )
    return case
