"""The email outbox: one `Notification` row per email to send."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from cases.models.base import UndeletableModel
from cases.models.case import Case
from cases.models.history import CaseEvent
from cases.models.service_levels import ResponseTarget
from cases.models.thread import Message

# --- Outbox ---------------------------------------------------------------------------


class NotificationKind(models.TextChoices):
    PENDING_CUSTOMER = "pending_customer", "Engineer needs information"
    REMINDER = "reminder", "Reminder before automatic close"
    RESOLVED = "resolved", "Case resolved"
    AUTO_CLOSED = "auto_closed", "Case closed automatically"
    REOPENED = "reopened", "Case reopened"
    ENGINEER_REPLY = "engineer_reply", "Engineer replied"
    CUSTOMER_REPLIED = "customer_replied", "Customer replied (to engineer)"
    CUSTOMER_REOPENED = "customer_reopened", "Customer reopened (to engineer)"
    CUSTOMER_RESOLVED = "customer_resolved", "Customer marked resolved (to engineer)"
    CUSTOMER_CONFIRMED = "customer_confirmed", "Customer confirmed it worked (to engineer)"
    CUSTOMER_CLOSED = "customer_closed", "Customer closed the case (to engineer)"
    CLOSED = "closed", "Case closed by the engineer"
    ENGINEER_AUTO_CLOSED = "engineer_auto_closed", "Case closed automatically (to engineer)"
    CASE_OPENED = "case_opened", "Case received"
    CASE_SHARED = "case_shared", "Case shared with you"
    NEW_CASE_ALERT = "new_case_alert", "New urgent case (to engineers)"
    DAILY_DIGEST = "daily_digest", "Daily digest (to engineer)"
    THANKS_RECEIVED = "thanks_received", "Thank-you received; case stays resolved"
    SERVICE_LEVEL_WARNING = "service_level_warning", "Response target at risk (to engineer)"
    SERVICE_LEVEL_BREACHED = "service_level_breached", "Response target missed (to on-call)"


class NotificationState(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    DELIVERED = "delivered", "Delivered"
    BOUNCED = "bounced", "Bounced"
    COMPLAINED = "complained", "Complained"
    REJECTED = "rejected", "Rejected"
    FAILED = "failed", "Failed"
    # Not sent on purpose, `last_error` says why: a reminder whose clock stopped, a
    # recipient who turned the kind off or left the organisation before it went out.
    CANCELLED = "cancelled", "Cancelled"


class Notification(UndeletableModel):
    """An email to send, recorded in the transaction of the change that causes it."""

    # None only for an email about many cases (an engineer's daily digest).
    case = models.ForeignKey(
        Case, on_delete=models.PROTECT, null=True, blank=True, related_name="notifications"
    )
    event = models.ForeignKey(
        CaseEvent, on_delete=models.PROTECT, null=True, blank=True, related_name="notifications"
    )
    message = models.ForeignKey(
        Message, on_delete=models.PROTECT, null=True, blank=True, related_name="notifications"
    )
    # The response target a service-level warning or escalation is about.
    response_target = models.ForeignKey(
        ResponseTarget,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="notifications",
    )
    kind = models.CharField(max_length=30, choices=NotificationKind)
    # None only for an address that is nobody's login (ONCALL_EMAIL).
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="notifications",
    )
    to_email = models.EmailField()
    subject = models.CharField(max_length=300)
    # What makes this email unique: the event (or reminder) it belongs to and the
    # recipient, so a retried transaction or a second sweep never queues it twice.
    dedupe_key = models.CharField(max_length=200, unique=True)
    # A reminder's clock: the Pending Customer start it counts from (a new request for
    # information starts a new clock, making this reminder obsolete) and its threshold.
    clock_started_at = models.DateTimeField(null=True, blank=True)
    reminder_days_before = models.PositiveSmallIntegerField(null=True, blank=True)
    state = models.CharField(
        max_length=20, choices=NotificationState, default=NotificationState.QUEUED
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    provider_message_id = models.CharField(max_length=255, blank=True)
    # True when the email may have reached the provider twice (a worker died mid-send
    # and the provider has no idempotency key).
    possible_duplicate = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    state_changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(state__in=["queued", "sending"]),
                name="notification_unsent",
            ),
            models.Index(fields=["case", "-created_at"], name="notification_case_created"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} to {self.to_email}"
