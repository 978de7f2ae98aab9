"""Who follows a case beside its requester: sharing it with colleagues, removing them,
and what happens when someone leaves the organisation.

A participant is a colleague of the case's organisation who sees the case, gets its
customer emails and may act on it as the requester does (`Case.is_customer`). Any
customer of the case (requester, participant, organisation admin) may add or remove
participants. Each addition and removal is a history entry of the case; an added
colleague is emailed who shared which case, and why when a message was given.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from cases import outbox
from cases.exceptions import NotAParticipant, ParticipantsRefused
from cases.models import (
    Actor,
    Case,
    CaseParticipant,
    Notification,
    NotificationKind,
    NotificationState,
)
from cases.models.participants import MAX_COLLEAGUES_AT_ONCE
from cases.outbox.triggers import ENGINEER_KINDS
from cases.services.common import lock_case, record_event, require_customer
from cases.text import clean_line, clean_text
from portal.identity import stored_email

# The history entries this module writes (`CaseEvent.transition`).
SHARED = "share"
REMOVED = "unshare"
LEFT = "participant_left"
PARTICIPANT_TRANSITIONS = (SHARED, REMOVED, LEFT)

# Commas, semicolons, line breaks or spaces between addresses, as people paste them.
_SEPARATORS = re.compile(r"[\s,;]+")


def colleague_addresses(text: str) -> list[str]:
    """The addresses in what was typed, each once (compared as stored), in order."""
    seen: dict[str, str] = {}
    for address in _SEPARATORS.split(clean_line(text)):
        address = address.strip("<>")
        if address and stored_email(address) not in seen:
            seen[stored_email(address)] = address
    return list(seen.values())


def person_name(user) -> str:
    """How history entries name a person: their name on one line, else their address."""
    return clean_line(user.full_name) or user.email


# --- Adding ---------------------------------------------------------------------------


def colleagues_for(case: Case, addresses: Iterable[str]) -> list:
    """The users `addresses` name, if every one of them may be added to `case`.

    Raises `ParticipantsRefused` with one sentence per address that may not, so the
    person can fix them all at once. An address of nobody and an address of someone of
    another organisation get the same answer: which addresses have an account is not
    for a customer to find out. `case` may be unsaved (a case being opened).
    """
    addresses = list(addresses)
    if not addresses:
        raise ParticipantsRefused(["Enter the email address of a colleague."])
    if len(addresses) > MAX_COLLEAGUES_AT_ONCE:
        raise ParticipantsRefused(
            [
                f"You entered {len(addresses)} addresses: up to {MAX_COLLEAGUES_AT_ONCE} "
                "colleagues can be added at once. Nobody was added."
            ]
        )
    well_formed = [address for address in addresses if _is_address(address)]
    users = _users_by_address(well_formed)
    following = set()
    if case.pk is not None:
        following = set(case.participants.values_list("user_id", flat=True))
    problems: list[str] = []
    chosen = []
    # One sentence per address, in the order they were typed.
    for address in addresses:
        user = users.get(stored_email(address))
        membership = getattr(user, "membership", None) if user is not None else None
        if address not in well_formed:
            problems.append(f"“{address}” is not an email address.")
        elif membership is None or membership.organisation_id != case.organisation_id:
            problems.append(
                f"{address} is not a colleague in your organisation with an account here."
            )
        elif not user.is_active:
            problems.append(f"{address}: this colleague's account is not active.")
        elif user.pk == case.requester_id:
            problems.append(f"{address} opened this case and follows it already.")
        elif user.pk in following:
            problems.append(f"{address} is on this case already.")
        else:
            chosen.append(user)
    if problems:
        raise ParticipantsRefused(problems)
    return chosen


def _is_address(text: str) -> bool:
    try:
        validate_email(text)
    except ValidationError:
        return False
    return True


def _users_by_address(addresses: list[str]) -> dict:
    if not addresses:
        return {}
    wanted = Q()
    for address in addresses:
        wanted |= Q(email__iexact=stored_email(address))
    users = get_user_model().objects.filter(wanted).select_related("membership")
    return {stored_email(user.email): user for user in users}


def add_colleagues(case: Case, colleagues: list, *, actor, message: str = "") -> list:
    """Make `colleagues` (from `colleagues_for`) participants of the locked `case`: a
    history entry and a "shared with you" email each. For `case_open` and
    `case_add_participants`, inside their transaction."""
    message = clean_text(message).strip()
    now = timezone.now()
    added = []
    for colleague in colleagues:
        added.append(
            CaseParticipant.objects.create(case=case, user=colleague, added_by=actor, added_at=now)
        )
        reason = f"Shared with {person_name(colleague)}"
        event = record_event(
            case,
            SHARED,
            actor=actor,
            kind=Actor.CUSTOMER,
            # The history line first, then the sharer's message (`CaseEvent.note`).
            reason=f"{reason}\n{message}" if message else reason,
            created_at=now,
        )
        outbox.queue(case, NotificationKind.CASE_SHARED, recipient=colleague, event=event)
    case.forget_participants()
    return added


@transaction.atomic
def case_add_participants(
    *, case: Case, actor, addresses: Iterable[str], message: str = ""
) -> list[CaseParticipant]:
    """Share a case with colleagues of its organisation.

    `actor` must be a customer of the case. Every address must name an active
    colleague of the case's organisation who does not follow it yet, at most
    `MAX_COLLEAGUES_AT_ONCE` of them: otherwise `ParticipantsRefused` says what is
    wrong with each, and nobody is added. Writes a participant and a history entry
    ("Shared with …") per colleague and queues each the CASE_SHARED email, with
    `message` when one was given.
    """
    case_arg = case
    case = lock_case(case)
    require_customer(case, actor)
    colleagues = colleagues_for(case, addresses)
    added = add_colleagues(case, colleagues, actor=actor, message=message)
    case.save(update_fields=["updated_at"])
    case_arg.forget_participants()
    return added


# --- Removing -------------------------------------------------------------------------


@transaction.atomic
def case_remove_participant(*, case: Case, actor, participant_id: int) -> CaseParticipant:
    """Stop a participant following a case; any customer of the case may, the
    participant themselves too.

    Raises `NotAParticipant` when that participant is not on this case (any more).
    Writes the history entry ("… removed", or "… left the case" when they removed
    themselves). Their emails already queued about the case are left to the outbox,
    which sends only to people who are still customers of the case.
    """
    case_arg = case
    case = lock_case(case)
    require_customer(case, actor)
    participant = (
        CaseParticipant.objects.select_related("user").filter(pk=participant_id, case=case).first()
    )
    if participant is None:
        raise NotAParticipant("That person is not on this case.")
    name = person_name(participant.user)
    reason = f"{name} left the case" if participant.user_id == actor.pk else f"{name} removed"
    participant.delete()
    record_event(case, REMOVED, actor=actor, kind=Actor.CUSTOMER, reason=reason)
    case.save(update_fields=["updated_at"])
    case.forget_participants()
    case_arg.forget_participants()
    return participant


# --- Leaving the organisation ---------------------------------------------------------


@transaction.atomic
def person_left(*, user, organisation_id: int, deactivated: bool = False) -> list[Case]:
    """`user` is no longer part of organisation `organisation_id`: their membership was
    deleted or moved to another organisation, or their account deactivated.

    They are no longer a customer of its cases (`Case.is_customer` asks the membership
    and `is_active` afresh). Here they stop following those cases: each participation
    is removed with a history entry ("… left the organisation"), and every customer
    email to them still queued about the organisation's cases is cancelled, with
    `last_error` saying why. Cases are locked first, as every service does, then the
    outbox rows. Returns the cases they were removed from. Safe to run again.
    """
    case_ids = list(
        CaseParticipant.objects.filter(
            user=user, case__organisation_id=organisation_id
        ).values_list("case_id", flat=True)
    )
    cases = list(
        Case.objects.select_for_update(of=("self",)).filter(pk__in=case_ids).order_by("pk")
    )
    now = timezone.now()
    # What the history and the outbox say: the account closed, or only the membership.
    why = "'s account was deactivated" if deactivated else " left the organisation"
    reason = f"{person_name(user)}{why}"
    left = []
    for case in cases:
        removed, _ = CaseParticipant.objects.filter(case=case, user=user).delete()
        if not removed:
            continue  # removed meanwhile by someone else
        # Nobody acted here: the change was to the person, not to the case.
        record_event(case, LEFT, actor=None, reason=reason, created_at=now)
        case.save(update_fields=["updated_at"])
        left.append(case)
    Notification.objects.filter(
        recipient=user,
        state=NotificationState.QUEUED,
        case__organisation_id=organisation_id,
    ).exclude(kind__in=ENGINEER_KINDS).update(
        state=NotificationState.CANCELLED,
        state_changed_at=now,
        last_error=f"Not sent: {user.email}{why}.",
    )
    return left
