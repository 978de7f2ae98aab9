"""Signed links in the resolved email: "Confirm it worked" and "It's not fixed — reopen".

A link names one action on one case for one recipient, signed with a salt per action.
It also names the history entry that resolved the case, so it stops working once the
case moves on (confirmed, reopened, closed, resolved again) and it expires with the
case's automatic close. It leads to a page with one POST button; the POST checks the
link again and acts as that recipient without signing them in.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from .models import Case, CaseEvent, Status

CONFIRM = "confirm"
REOPEN = "reopen"
SALTS = {CONFIRM: "cases.email-action.confirm", REOPEN: "cases.email-action.reopen"}


class LinkState(enum.Enum):
    VALID = "valid"
    INVALID = "invalid"  # forged, mangled, or for someone who may no longer act
    USED = "used"  # the case has moved on since the email (this link or anything else)
    EXPIRED = "expired"  # the case's automatic close is due


@dataclass(frozen=True)
class EmailAction:
    state: LinkState
    action: str
    case: Case | None = None
    recipient: object | None = None
    expired_at: datetime | None = None


def _latest_status_change_id(case: Case) -> int | None:
    return (
        CaseEvent.objects.filter(case=case)
        .exclude(from_status=F("to_status"))
        .order_by("-created_at", "-id")
        .values_list("pk", flat=True)
        .first()
    )


def token_for(*, case: Case, recipient, action: str, event_id: int) -> str:
    payload = {"c": case.pk, "u": recipient.pk, "e": event_id}
    return signing.dumps(payload, salt=SALTS[action])


def url_for(*, case: Case, recipient, action: str, event_id: int) -> str:
    token = token_for(case=case, recipient=recipient, action=action, event_id=event_id)
    return settings.SITE_URL + reverse("cases:email_action", args=[action, token])


def check(action: str, token: str) -> EmailAction:
    """What the link is worth now. Reads the case and its history afresh each time."""
    salt = SALTS.get(action)
    if salt is None:
        return EmailAction(LinkState.INVALID, action)
    try:
        payload = signing.loads(token, salt=salt)
        case_id, user_id, event_id = int(payload["c"]), int(payload["u"]), int(payload["e"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return EmailAction(LinkState.INVALID, action)
    case = (
        Case.objects.select_related("requester", "assignee", "original_engineer")
        .filter(pk=case_id)
        .first()
    )
    recipient = (
        get_user_model()
        .objects.select_related("membership__organisation")
        .filter(pk=user_id)
        .first()
    )
    if case is None or recipient is None or not case.is_customer(recipient):
        return EmailAction(LinkState.INVALID, action)
    if case.status != Status.RESOLVED or _latest_status_change_id(case) != event_id:
        return EmailAction(LinkState.USED, action, case=case, recipient=recipient)
    deadline = case.auto_close_at
    if deadline is not None and timezone.now() >= deadline:
        return EmailAction(
            LinkState.EXPIRED, action, case=case, recipient=recipient, expired_at=deadline
        )
    return EmailAction(LinkState.VALID, action, case=case, recipient=recipient)
