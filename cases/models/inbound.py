"""The record of every email the inbound webhook received and what became of it."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from cases.models.base import UndeletableModel
from cases.models.case import Case
from cases.models.thread import Message

# --- Inbound email --------------------------------------------------------------------


class InboundOutcome(models.TextChoices):
    ACCEPTED = "accepted", "Accepted (added to the thread)"
    REJECTED = "rejected", "Rejected"
    AUTOMATED = "automated", "Ignored (automatic reply, bounce or loop)"


class InboundReason(models.TextChoices):
    REPLY = "reply", "Reply added to the case"
    FOLLOW_UP = "follow_up", "Reply to a closed case started a new case"
    NO_CASE = "no_case", "No reply address or reference to our own email"
    UNKNOWN_SENDER = "unknown_sender", "Sender is not a portal user"
    NOT_CUSTOMER = "not_customer", "Sender may not act on this case"
    SENDER_MISMATCH = "sender_mismatch", "Sender is not the person the email was sent to"
    BAD_FROM = "bad_from", "From is not exactly one valid address"
    NOT_AUTHENTICATED = "not_authenticated", "Sender's domain failed DMARC, or SPF and DKIM"
    AUTO_REPLY = "auto_reply", "Automatic reply or out-of-office"
    BOUNCE = "bounce", "Delivery failure report"
    LOOP = "loop", "Our own email came back (mail loop)"
    SPAM = "spam", "Marked as spam by the provider"
    PROVIDER_DISABLED = "provider_disabled", "Email provider not enabled for inbound mail"
    REFUSED = "refused", "Refused by the case"
    UNREADABLE = "unreadable", "The provider's post could not be read"
    NOTE = "note", "Internal note added by an engineer"
    NOT_ENGINEER = "not_engineer", "Sender is no longer an engineer allowed to work the case"
    THANKS = "thanks", "Thank-you added; case stays resolved"


class InboundEmail(UndeletableModel):
    """Every email received through the inbound webhook, once per Message-ID.

    Accepted replies point at the message they became; rejected and automatic ones are
    kept here for engineers and never touch a case.
    """

    email_message_id = models.CharField(max_length=998, unique=True)
    esp_name = models.CharField(max_length=40)
    provider_event_id = models.CharField(max_length=255, blank=True)
    from_address = models.CharField(max_length=320, blank=True)
    to_addresses = models.TextField(blank=True)
    subject = models.CharField(max_length=300, blank=True)
    body_excerpt = models.TextField(blank=True)
    outcome = models.CharField(max_length=20, choices=InboundOutcome)
    reason = models.CharField(max_length=20, choices=InboundReason)
    detail = models.TextField(blank=True)
    case = models.ForeignKey(
        Case, on_delete=models.PROTECT, null=True, blank=True, related_name="inbound_emails"
    )
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="inbound_emails",
    )
    reply = models.ForeignKey(
        Message, on_delete=models.PROTECT, null=True, blank=True, related_name="inbound_emails"
    )
    received_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [
            models.Index(fields=["outcome", "-received_at"], name="inbound_outcome_received")
        ]

    def __str__(self) -> str:
        return f"{self.get_outcome_display()}: {self.subject or self.email_message_id}"
