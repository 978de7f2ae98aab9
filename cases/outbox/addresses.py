"""Reply addresses and Message-IDs: how an emailed reply finds its case and its sender."""

from __future__ import annotations

import hashlib
import logging
import re

from django.conf import settings
from django.utils.crypto import constant_time_compare, salted_hmac

from cases.models import (
    Case,
    Notification,
)

logger = logging.getLogger(__name__)

# --- Reply addresses ------------------------------------------------------------------

REPLY_LOCAL_PART = re.compile(r"^case\.(\d+)\.(\d+)\.([0-9a-f]{20})$")


def _reply_signature(case_id: int, user_id: int) -> str:
    return salted_hmac(
        "cases.reply-address", f"{case_id}:{user_id}", algorithm="sha256"
    ).hexdigest()[:20]


def reply_address(case: Case, recipient) -> str:
    """An unguessable Reply-To per case and recipient: replies route back to the case."""
    signature = _reply_signature(case.pk, recipient.pk)
    return f"case.{case.pk}.{recipient.pk}.{signature}@{settings.REPLY_DOMAIN}"


def parse_reply_address(address: str) -> tuple[int, int] | None:
    """(case id, user id) for a genuine reply address, else None."""
    local, _, domain = address.strip().lower().rpartition("@")
    if domain != settings.REPLY_DOMAIN.lower():
        return None
    match = REPLY_LOCAL_PART.match(local)
    if not match:
        return None
    case_id, user_id, signature = int(match[1]), int(match[2]), match[3]
    if not constant_time_compare(signature, _reply_signature(case_id, user_id)):
        return None
    return case_id, user_id


def message_id_for(notification: Notification) -> str:
    """Our own Message-ID: inbound replies and loops are recognised by it."""
    domain = settings.REPLY_DOMAIN
    digest = hashlib.sha256(f"{notification.pk}:{settings.SECRET_KEY}".encode()).hexdigest()[:12]
    return f"<notification.{notification.pk}.{digest}@{domain}>"
