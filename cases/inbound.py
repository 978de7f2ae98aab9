"""Replies by email, through Anymail's inbound webhook (`/anymail/<esp>/inbound/`).

A reply reaches a case only through something we sent: the signed reply address of the
notification (case + recipient), or failing that the `In-Reply-To`/`References` headers
naming one of our own Message-IDs. A case reference in the subject is never enough: it
is guessable, and following it would let anyone write into anyone's case.

The sender must be the person that email was sent to and must still be a customer of
the case. Every message received is recorded once per Message-ID (`InboundEmail`):
accepted replies point at the thread message they became; rejected ones, automatic
replies, bounces and loops stay in the record for engineers and never touch a case.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from email.utils import parseaddr

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils.crypto import constant_time_compare

from . import services
from .forms import ReplyForm
from .models import (
    Case,
    InboundEmail,
    InboundOutcome,
    InboundReason,
    MessageSource,
    Notification,
    Status,
)
from .notifications import message_id_for, parse_reply_address
from .reply_text import html_to_text, trim_reply
from .uploads import clean_filename, verify_upload

logger = logging.getLogger(__name__)

AUTOMATED_PRECEDENCE = {"bulk", "junk", "list", "auto_reply"}
AUTORESPONDER_HEADERS = ("X-Autoreply", "X-Autorespond", "X-Autoresponder")
BOUNCE_SENDERS = {"mailer-daemon", "postmaster"}
MESSAGE_ID = re.compile(r"<[^<>\s]+>")
OUR_MESSAGE_ID = re.compile(r"^<notification\.(\d+)\.[0-9a-f]{12}@[^<>\s]+>$", re.IGNORECASE)
EXCERPT_CHARS = 5000
# The same limit as a reply typed on the web.
REPLY_MAX_CHARS = ReplyForm.base_fields["body"].max_length


@dataclass(frozen=True)
class Route:
    """Where a reply belongs: the case, and the person our email to it was sent to."""

    case: Case
    recipient_id: int
    via: str


# --- Signal receiver ------------------------------------------------------------------


def on_inbound(sender, event, esp_name: str, **kwargs) -> None:
    receive(message=event.message, esp_name=esp_name, event_id=event.event_id or "")


# --- Receiving ------------------------------------------------------------------------


def receive(*, message, esp_name: str, event_id: str = "") -> InboundEmail | None:
    """Record one inbound email and, when it is a genuine reply, add it to its case.

    Returns the record, or None when this Message-ID was received before (providers
    retry deliveries): a duplicate is neither stored nor applied twice.
    """
    key = _message_key(message, esp_name, event_id)
    if esp_name.lower() not in settings.INBOUND_EMAIL_ESPS:
        # Recorded under its own key: the same email arriving through the enabled
        # provider (during a switch, both may forward) must still count.
        key = f"{esp_name.lower()}-disabled:{key}"[:998]
    if InboundEmail.objects.filter(email_message_id=key).exists():
        logger.info("Inbound email %s received again; ignored", key)
        return None
    try:
        with transaction.atomic():
            # Inserted first: a concurrent delivery of the same message waits on this
            # row's unique key and then fails, so only one of them reaches the case.
            record = InboundEmail.objects.create(
                email_message_id=key,
                esp_name=esp_name,
                provider_event_id=(event_id or "")[:255],
                from_address=str(message.get("From", "") or "")[:320],
                to_addresses=", ".join(_recipients(message))[:2000],
                subject=str(message.get("Subject", "") or "")[:300],
                body_excerpt=(_text_of(message) or "")[:EXCERPT_CHARS],
                outcome=InboundOutcome.REJECTED,
                reason=InboundReason.NO_CASE,
            )
            _process(record, message)
            record.save()
    except IntegrityError:
        logger.info("Inbound email %s is being received concurrently; ignored", key)
        return None
    log = logger.info if record.outcome == InboundOutcome.ACCEPTED else logger.warning
    log("Inbound email %s: %s (%s)", key, record.outcome, record.reason)
    return record


def _process(record: InboundEmail, message) -> None:
    if record.esp_name.lower() not in settings.INBOUND_EMAIL_ESPS:
        return _refuse(
            record, InboundReason.PROVIDER_DISABLED, f"{record.esp_name} is not enabled"
        )

    route = _route(message)
    if route is not None:
        record.case = route.case

    automated = _automated(message)
    if automated is not None:
        reason, detail = automated
        record.outcome, record.reason, record.detail = InboundOutcome.AUTOMATED, reason, detail
        return None
    if getattr(message, "spam_detected", False):
        return _refuse(record, InboundReason.SPAM, "The provider flagged it as spam")
    if route is None:
        return _refuse(
            record,
            InboundReason.NO_CASE,
            "Not sent to a reply address of ours and not a reply to one of our emails "
            "(a case reference in the subject is not enough)",
        )

    sender = _sender(message)
    if sender is None:
        return _refuse(
            record, InboundReason.UNKNOWN_SENDER, f"No portal user {record.from_address}"
        )
    record.sender = sender
    if not route.case.is_customer(sender):
        return _refuse(
            record,
            InboundReason.NOT_CUSTOMER,
            f"{sender.email} may not act on {route.case.reference}",
        )
    if sender.pk != route.recipient_id:
        return _refuse(
            record,
            InboundReason.SENDER_MISMATCH,
            f"Our email (found by {route.via}) went to another person than {sender.email}",
        )
    return _accept(record, message, route.case, sender)


def _refuse(record: InboundEmail, reason: InboundReason, detail: str) -> None:
    record.outcome, record.reason, record.detail = InboundOutcome.REJECTED, reason, detail


def _accept(record: InboundEmail, message, case: Case, sender) -> None:
    attachments, refused = _attachments(message)
    body = _reply_body(message)
    if len(body) > REPLY_MAX_CHARS:
        body = (
            body[:REPLY_MAX_CHARS]
            + f"\n\n[Shortened: a reply keeps its first {REPLY_MAX_CHARS:,} characters.]"
        )
    if refused:
        notes = "\n".join(f"- {reason}" for reason in refused)
        body = f"{body}\n\n[Attachments not added]\n{notes}".strip()
    if not body and attachments:
        body = "(Sent by email with attachments only.)"
    try:
        if case.status == Status.CLOSED and settings.CASE_EMAIL_REPLY_TO_CLOSED == "new_case":
            new_case = services.case_follow_up_by_email(
                closed_case=case,
                author=sender,
                body=body,
                attachments=attachments,
                email_message_id=record.email_message_id,
            )
            record.reply = new_case.messages.order_by("id").first()
            record.reason = InboundReason.FOLLOW_UP
            record.detail = f"Follow-up case {new_case.reference} opened"
        else:
            record.reply = services.case_reply(
                case=case,
                author=sender,
                body=body,
                attachments=attachments,
                source=MessageSource.EMAIL,
                email_message_id=record.email_message_id,
            )
            record.reason = InboundReason.REPLY
            record.detail = "; ".join(refused)
    except services.CaseActionError as error:
        return _refuse(record, InboundReason.REFUSED, str(error))
    record.outcome = InboundOutcome.ACCEPTED
    return None


# --- Finding the case -----------------------------------------------------------------


def _route(message) -> Route | None:
    for address in _recipients(message):
        parsed = parse_reply_address(address)
        if parsed is None:
            continue
        case = Case.objects.filter(pk=parsed[0]).first()
        if case is not None:
            return Route(case=case, recipient_id=parsed[1], via="reply address")
    # The reply address can be lost (a client that replies to From, a forward); the
    # headers still name the email being answered, most recent first.
    for message_id in _referenced_ids(message):
        notification = _our_notification(message_id)
        # A digest is about many cases and an on-call alert about nobody's login.
        if notification is not None and notification.case_id and notification.recipient_id:
            return Route(
                case=notification.case, recipient_id=notification.recipient_id, via="In-Reply-To"
            )
    return None


def _recipients(message) -> list[str]:
    addresses = []
    if getattr(message, "envelope_recipient", None):
        addresses.append(message.envelope_recipient)
    for header in ("To", "Cc", "Bcc", "Delivered-To", "X-Original-To"):
        try:
            addresses.extend(address.addr_spec for address in message.get_address_header(header))
        except Exception:  # noqa: BLE001, S112 - a malformed header routes nothing
            continue
    return list(dict.fromkeys(address for address in addresses if address))


def _referenced_ids(message) -> list[str]:
    in_reply_to = MESSAGE_ID.findall(str(message.get("In-Reply-To", "") or ""))
    references = MESSAGE_ID.findall(str(message.get("References", "") or ""))
    return list(dict.fromkeys([*in_reply_to, *reversed(references)]))


def _our_notification(message_id: str) -> Notification | None:
    match = OUR_MESSAGE_ID.match(message_id)
    if not match:
        return None
    notification = Notification.objects.select_related("case").filter(pk=int(match[1])).first()
    if notification is None:
        return None
    # The id carries a keyed digest: a made-up one does not name a notification.
    if not constant_time_compare(message_id_for(notification).lower(), message_id.lower()):
        return None
    return notification


def _sender(message):
    from django.contrib.auth import get_user_model

    from_header = message.get_all("From") or []
    if len(from_header) != 1:
        return None
    name, address = parseaddr(str(from_header[0]))
    if not address or "@" not in address:
        return None
    return (
        get_user_model()
        .objects.select_related("membership")
        .filter(email__iexact=address, is_active=True)
        .first()
    )


# --- Automatic mail -------------------------------------------------------------------


def _automated(message) -> tuple[InboundReason, str] | None:
    """Why this message is not a person's reply, or None when it is one."""
    own_id = str(message.get("Message-ID", "") or "").strip()
    if own_id and _our_notification(own_id) is not None:
        return InboundReason.LOOP, f"Message-ID {own_id} is one of ours"
    _, from_address = parseaddr(str(message.get("From", "") or ""))
    from_address = from_address.lower()
    _, our_address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    domain = from_address.rpartition("@")[2]
    if from_address and (
        from_address == our_address.lower() or domain in settings.OWN_EMAIL_DOMAINS
    ):
        return InboundReason.LOOP, f"From our own address {from_address}"

    if message.get_content_type() == "multipart/report":
        return InboundReason.BOUNCE, "Delivery status report"
    envelope_sender = getattr(message, "envelope_sender", None)
    if envelope_sender is not None and envelope_sender.strip("<> ") == "":
        return InboundReason.BOUNCE, "Null envelope sender (a delivery report)"
    if from_address.partition("@")[0] in BOUNCE_SENDERS:
        return InboundReason.BOUNCE, f"From {from_address}"

    auto_submitted = str(message.get("Auto-Submitted", "") or "").split(";")[0].strip().lower()
    if auto_submitted and auto_submitted != "no":
        return InboundReason.AUTO_REPLY, f"Auto-Submitted: {auto_submitted}"
    precedence = str(message.get("Precedence", "") or "").strip().lower()
    if precedence in AUTOMATED_PRECEDENCE:
        return InboundReason.AUTO_REPLY, f"Precedence: {precedence}"
    for header in AUTORESPONDER_HEADERS:
        if message.get(header) is not None:
            return InboundReason.AUTO_REPLY, f"{header} header"
    return None


# --- Content --------------------------------------------------------------------------


def _text_of(message) -> str:
    text = message.text or ""
    if not text.strip() and message.html:
        text = html_to_text(message.html)
    return text


def _reply_body(message) -> str:
    body = trim_reply(_text_of(message))
    if not body and getattr(message, "stripped_text", None):
        # Our trimmer found nothing new: the provider's own guess is better than none.
        body = trim_reply(message.stripped_text)
    return body


def _attachments(message) -> tuple[list[UploadedFile], list[str]]:
    """The attachments a web reply would accept, and why the others were refused."""
    accepted: list[UploadedFile] = []
    refused: list[str] = []
    for part in message.attachments:
        name = clean_filename(part.get_filename() or "")
        try:
            upload = part.as_uploaded_file()
        except Exception:  # noqa: BLE001 - an unreadable part is refused, not fatal
            refused.append(f"“{name}” could not be read.")
            continue
        if upload is None:
            continue
        if len(accepted) >= settings.ATTACHMENT_MAX_FILES:
            refused.append(
                f"“{name}”: at most {settings.ATTACHMENT_MAX_FILES} files are added per reply."
            )
            continue
        try:
            accepted.append(verify_upload(upload))
        except ValidationError as error:
            refused.extend(error.messages)
    return accepted, refused


def _message_key(message, esp_name: str, event_id: str) -> str:
    """The Message-ID, or a stand-in that is stable across a provider's retries."""
    message_id = str(message.get("Message-ID", "") or "").strip()
    if message_id:
        return message_id[:998]
    if event_id:
        return f"<{esp_name.lower()}.{event_id}@inbound.invalid>"[:998]
    digest = hashlib.sha256(message.as_bytes()).hexdigest()
    return f"<sha256.{digest}@inbound.invalid>"
