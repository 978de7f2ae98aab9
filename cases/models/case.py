"""The case domain: statuses, the state machine, the thread, history and the outbox.

Transition methods only change fields in memory; `cases.services` locks the row, calls
them, saves, writes history and notifications in one transaction. Nothing else sets
`status`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone
from django_fsm import RETURN_VALUE, FSMField, FSMModelMixin, transition

# --- Statuses -------------------------------------------------------------------------


class Status(models.TextChoices):
    NEW = "new", "New"
    OPEN = "open", "Open"
    IN_PROGRESS = "in_progress", "In Progress"
    PENDING_CUSTOMER = "pending_customer", "Pending Customer"
    RESOLVED = "resolved", "Resolved"
    CLOSED = "closed", "Closed"


@dataclass(frozen=True)
class StatusInfo:
    """What a status means to the customer: the help page and case pages read this."""

    status: Status
    meaning: str
    action: str
    action_required: bool

    @property
    def label(self) -> str:
        return self.status.label

    @property
    def value(self) -> str:
        return self.status.value


# The words of the public help page (spec/case-statuses.txt), word for word.
STATUS_INFO: dict[str, StatusInfo] = {
    info.status.value: info
    for info in (
        StatusInfo(
            Status.NEW,
            meaning="Case received, not yet assigned",
            action="None — wait for assignment",
            action_required=False,
        ),
        StatusInfo(
            Status.OPEN,
            meaning="Assigned to an engineer, actively being worked",
            action="None — engineer is investigating",
            action_required=False,
        ),
        StatusInfo(
            Status.IN_PROGRESS,
            meaning="Engineer is actively working on a fix or investigation",
            action="None — updates coming",
            action_required=False,
        ),
        StatusInfo(
            Status.PENDING_CUSTOMER,
            meaning="Engineer needs more information from you",
            action="Yes — reply to unblock",
            action_required=True,
        ),
        StatusInfo(
            Status.RESOLVED,
            meaning="Issue has been fixed or answered",
            action="Confirm if it worked, or reopen",
            action_required=True,
        ),
        StatusInfo(
            Status.CLOSED,
            meaning="Case archived after resolution",
            action="Reopen if issue recurs",
            action_required=False,
        ),
    )
}

OPEN_STATUSES = (Status.NEW, Status.OPEN, Status.IN_PROGRESS, Status.PENDING_CUSTOMER)
# Where the customer may mark their case resolved: the pages offer the button here.
CUSTOMER_RESOLVABLE_STATUSES = OPEN_STATUSES
WORKING_STATUSES = (Status.OPEN, Status.IN_PROGRESS)


class Priority(models.IntegerChoices):
    P1 = 1, "P1 Critical"
    P2 = 2, "P2 High"
    P3 = 3, "P3 Normal"
    P4 = 4, "P4 Low"


class InfoRequestKind(models.TextChoices):
    """What an engineer asks for when moving a case to Pending Customer."""

    LOGS = "logs", "Additional logs or error output"
    STEPS = "steps", "Steps to reproduce the issue"
    CONFIGURATION = "configuration", "Confirmation of your current configuration"
    APPROVAL = "approval", "Approval to make a change on your behalf"


class Rating(models.TextChoices):
    """The answer to "Did this solve your problem?" given with Confirm it worked."""

    GOOD = "good", "Yes, it solved my problem"
    BAD = "bad", "No, not really"


class Actor(models.TextChoices):
    CUSTOMER = "customer", "Customer"
    ENGINEER = "engineer", "Engineer"
    SCHEDULER = "scheduler", "Scheduler"


def closed_for_no_reply_text() -> str:
    """What a case closed for want of a reply says instead of "archived after resolution"."""
    return f"Closed: no reply within {settings.CASE_PENDING_CUSTOMER_AUTO_CLOSE_DAYS} days"


def pending_customer_timeout() -> timedelta:
    return timedelta(days=settings.CASE_PENDING_CUSTOMER_AUTO_CLOSE_DAYS)


def resolved_timeout() -> timedelta:
    return timedelta(days=settings.CASE_RESOLVED_AUTO_CLOSE_DAYS)


def auto_close_deadline(
    status: str, pending_since: datetime | None, resolved_at: datetime | None
) -> datetime | None:
    """The closure policy: when a case in `status` closes by itself, if ever."""
    if status == Status.PENDING_CUSTOMER and pending_since:
        return pending_since + pending_customer_timeout()
    if status == Status.RESOLVED and resolved_at:
        return resolved_at + resolved_timeout()
    return None


# --- Never delete ---------------------------------------------------------------------


class DeletionForbidden(Exception):
    """Support history is kept for audit: cases, messages and history are never deleted."""


class UndeletableQuerySet(models.QuerySet):
    def delete(self):
        raise DeletionForbidden(f"{self.model.__name__} rows are never deleted.")


class UndeletableModel(models.Model):
    objects = UndeletableQuerySet.as_manager()

    class Meta:
        abstract = True

    def delete(self, *args, **kwargs):
        raise DeletionForbidden(f"{type(self).__name__} rows are never deleted.")


class AppendOnlyQuerySet(UndeletableQuerySet):
    def update(self, **kwargs):
        raise DeletionForbidden(f"{self.model.__name__} rows are append-only.")

    def bulk_update(self, *args, **kwargs):
        raise DeletionForbidden(f"{self.model.__name__} rows are append-only.")


# --- Permission predicates for transitions (checked by services) ---------------------


def is_engineer(instance: Case, user) -> bool:
    return bool(user and user.is_authenticated and user.is_support_engineer)


def is_case_customer(instance: Case, user) -> bool:
    return bool(user and user.is_authenticated and instance.is_customer(user))


def is_customer_or_engineer(instance: Case, user) -> bool:
    return is_case_customer(instance, user) or is_engineer(instance, user)


def can_work_cases(user) -> bool:
    """May work cases (replies, notes, transitions): the admin's workbench and replies by
    email ask this same question."""
    return bool(
        user
        and user.is_authenticated
        and user.is_support_engineer
        and user.has_perm("cases.work_case")
    )


def is_scheduler(instance: Case, user) -> bool:
    # The scheduler acts as nobody.
    return user is None


# --- Case -----------------------------------------------------------------------------


class CaseQuerySet(UndeletableQuerySet):
    def visible_to_customer(self, user) -> CaseQuerySet:
        """The cases a customer may see: their own, or their organisation's if allowed."""
        if not user.is_authenticated or not user.is_active:
            return self.none()
        membership = getattr(user, "membership", None)
        if membership is not None and membership.can_view_organisation_cases:
            return self.filter(
                models.Q(requester=user) | models.Q(organisation_id=membership.organisation_id)
            )
        return self.filter(requester=user)


class Case(FSMModelMixin, UndeletableModel):
    REFERENCE_PREFIX = "CS-"
    REFERENCE_OFFSET = 1000

    subject = models.CharField(max_length=200)
    description = models.TextField()
    priority = models.PositiveSmallIntegerField(choices=Priority, default=Priority.P3)
    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="requested_cases"
    )
    organisation = models.ForeignKey(
        "portal.Organisation", on_delete=models.PROTECT, related_name="cases"
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="assigned_cases",
    )
    # The first engineer who took the case: Reopen Case routes back to them.
    original_engineer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="original_cases",
    )
    status = FSMField(choices=Status, default=Status.NEW, protected=True)
    # Where a customer's reply returns a Pending Customer case to (open or in_progress).
    return_status = models.CharField(max_length=20, choices=Status, blank=True)
    info_request_kind = models.CharField(max_length=20, choices=InfoRequestKind, blank=True)

    # Clock starts: the deadline is start + the configured duration, so changing the
    # setting moves every running clock (and the help page) together.
    pending_since = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    # Closed by the scheduler because nobody answered a Pending Customer question: the
    # pages say so instead of the Closed status's usual meaning.
    closed_for_no_reply = models.BooleanField(default=False, db_default=False)
    # Set when a Pending Customer question bounced: the case must not close silently.
    auto_close_held_reason = models.CharField(max_length=200, blank=True)
    # A reply by email to a closed case may start a new case (CASE_EMAIL_REPLY_TO_CLOSED).
    follow_up_of = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="follow_ups"
    )
    # The optional rating given with Confirm it worked (the satisfaction report counts it).
    # db_default: rows written by bulk COPY (bench data) need not name these.
    rating = models.CharField(
        "Did this solve your problem?",
        max_length=4,
        choices=Rating,
        blank=True,
        default="",
        db_default="",
    )
    rating_comment = models.TextField("Rating comment", blank=True, default="", db_default="")
    rated_at = models.DateTimeField(null=True, blank=True)

    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    last_activity_at = models.DateTimeField(default=timezone.now)
    last_customer_activity_at = models.DateTimeField(null=True, blank=True)

    objects = CaseQuerySet.as_manager()

    class Meta:
        ordering = ["-last_activity_at", "-id"]
        indexes = [
            models.Index(
                fields=["requester", "-last_activity_at"], name="case_requester_activity"
            ),
            models.Index(
                fields=["requester", "status", "-last_activity_at"],
                name="case_req_status_activity",
            ),
            models.Index(fields=["organisation", "-last_activity_at"], name="case_org_activity"),
            models.Index(fields=["status", "-last_activity_at"], name="case_status_activity"),
            # The admin's unfiltered case list: newest activity first, without a sort.
            models.Index(fields=["-last_activity_at", "-id"], name="case_activity"),
            models.Index(fields=["assignee", "status"], name="case_assignee_status"),
            models.Index(
                fields=["pending_since"],
                condition=models.Q(status="pending_customer"),
                name="case_pending_clock",
            ),
            models.Index(
                fields=["resolved_at"],
                condition=models.Q(status="resolved"),
                name="case_resolved_clock",
            ),
            # The satisfaction report reads only rated cases.
            models.Index(fields=["rated_at"], condition=~models.Q(rating=""), name="case_rated"),
        ]
        permissions = [("work_case", "Can work cases (transitions, replies, notes)")]

    def __str__(self) -> str:
        return f"{self.reference} {self.subject}"

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("cases:detail", kwargs={"reference": self.reference})

    # -- reference -------------------------------------------------------------------

    @property
    def reference(self) -> str:
        return f"{self.REFERENCE_PREFIX}{self.pk + self.REFERENCE_OFFSET}" if self.pk else ""

    @classmethod
    def pk_from_reference(cls, reference: str) -> int | None:
        """`CS-1042` -> 42; None for anything that is not a reference."""
        text = reference.strip().upper()
        if text.startswith(cls.REFERENCE_PREFIX):
            text = text[len(cls.REFERENCE_PREFIX) :]
        # isascii: str.isdigit() also accepts "²", which int() refuses.
        if not (text.isascii() and text.isdigit()) or len(text) > 18:
            return None
        pk = int(text) - cls.REFERENCE_OFFSET
        return pk if pk > 0 else None

    # -- who -------------------------------------------------------------------------

    def is_customer(self, user) -> bool:
        """The requester, or a member allowed to follow their organisation's cases."""
        if not user.is_active:
            return False
        if user.pk == self.requester_id:
            return True
        membership = getattr(user, "membership", None)
        return bool(
            membership
            and membership.can_view_organisation_cases
            and membership.organisation_id == self.organisation_id
        )

    # -- clocks ----------------------------------------------------------------------

    @property
    def status_info(self) -> StatusInfo:
        return STATUS_INFO[self.status]

    @property
    def auto_close_at(self) -> datetime | None:
        """When the scheduler will close this case, if a clock is running."""
        return auto_close_deadline(self.status, self.pending_since, self.resolved_at)

    def auto_close_is_due(self) -> bool:
        deadline = self.auto_close_at
        return (
            deadline is not None and not self.auto_close_held_reason and timezone.now() >= deadline
        )

    # -- transitions (fields only; see cases.services) -------------------------------

    @transition(field=status, source=Status.NEW, target=Status.OPEN, permission=is_engineer)
    def assign(self, engineer) -> None:
        self.assignee = engineer
        if self.original_engineer_id is None:
            self.original_engineer = engineer

    @transition(
        field=status, source=Status.OPEN, target=Status.IN_PROGRESS, permission=is_engineer
    )
    def start_work(self) -> None:
        pass

    @transition(
        field=status,
        source=[Status.OPEN, Status.IN_PROGRESS],
        target=Status.PENDING_CUSTOMER,
        permission=is_engineer,
    )
    def request_info(self, kind: str) -> None:
        self.return_status = self.status
        self.info_request_kind = kind
        self.pending_since = timezone.now()
        self.auto_close_held_reason = ""

    @transition(
        field=status,
        source=Status.PENDING_CUSTOMER,
        target=RETURN_VALUE(Status.OPEN, Status.IN_PROGRESS),
        permission=is_case_customer,
    )
    def receive_customer_reply(self) -> str:
        target = self.return_status or Status.OPEN
        self._leave_pending_customer()
        return target

    @transition(
        field=status,
        source=[Status.OPEN, Status.IN_PROGRESS, Status.PENDING_CUSTOMER],
        target=Status.RESOLVED,
        permission=is_engineer,
    )
    def resolve(self) -> None:
        self._leave_pending_customer()
        self.resolved_at = timezone.now()

    @transition(
        field=status,
        source=list(CUSTOMER_RESOLVABLE_STATUSES),
        target=Status.RESOLVED,
        permission=is_case_customer,
    )
    def mark_resolved(self) -> None:
        self._leave_pending_customer()
        self.resolved_at = timezone.now()

    @transition(
        field=status,
        source=[*OPEN_STATUSES, Status.RESOLVED],
        target=Status.CLOSED,
        permission=is_customer_or_engineer,
    )
    def close(self) -> None:
        self._leave_pending_customer()
        self.closed_at = timezone.now()
        self.closed_for_no_reply = False

    @transition(
        field=status, source=Status.RESOLVED, target=Status.CLOSED, permission=is_case_customer
    )
    def confirm(self, rating: str = "", comment: str = "") -> None:
        """The customer confirms the resolution worked (Confirm it worked)."""
        self.closed_at = timezone.now()
        if rating or comment:
            self.rating = rating
            self.rating_comment = comment
            self.rated_at = self.closed_at

    @transition(
        field=status,
        source=[Status.PENDING_CUSTOMER, Status.RESOLVED],
        target=Status.CLOSED,
        permission=is_scheduler,
        conditions=[auto_close_is_due],
    )
    def auto_close(self) -> None:
        self.closed_for_no_reply = self.status == Status.PENDING_CUSTOMER
        self._leave_pending_customer()
        self.closed_at = timezone.now()

    @transition(
        field=status,
        source=[Status.RESOLVED, Status.CLOSED],
        target=RETURN_VALUE(Status.OPEN, Status.NEW),
        permission=is_customer_or_engineer,
    )
    def reopen(self) -> str:
        self.resolved_at = None
        self.closed_at = None
        self.closed_for_no_reply = False
        engineer = self.original_engineer
        if engineer is not None and engineer.is_support_engineer:
            self.assignee = engineer
            return Status.OPEN
        self.assignee = None
        return Status.NEW

    def _leave_pending_customer(self) -> None:
        self.return_status = ""
        self.info_request_kind = ""
        self.pending_since = None
        self.auto_close_held_reason = ""


# --- The thread -----------------------------------------------------------------------


class MessageSource(models.TextChoices):
    WEB = "web", "Web"
    EMAIL = "email", "Email"
    ADMIN = "admin", "Admin"
    SYSTEM = "system", "System"


class Message(UndeletableModel):
    """One entry of a case's thread: a public reply or an engineer's internal note."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="messages")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="case_messages",
    )
    body = models.TextField()
    is_internal = models.BooleanField(
        default=False, help_text="Internal notes are never shown to customers."
    )
    author_kind = models.CharField(max_length=10, choices=Actor)
    source = models.CharField(max_length=10, choices=MessageSource, default=MessageSource.WEB)
    # Set on an engineer's question (request info): what the customer was asked for.
    info_request_kind = models.CharField(max_length=20, choices=InfoRequestKind, blank=True)
    # Message-ID of an inbound email: a provider delivering it twice stores it once.
    email_message_id = models.CharField(max_length=998, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["case", "created_at"], name="message_case_created")]
        constraints = [
            models.UniqueConstraint(
                fields=["email_message_id"],
                condition=~models.Q(email_message_id=""),
                name="message_unique_email_id",
            )
        ]

    def __str__(self) -> str:
        kind = "Internal note" if self.is_internal else "Reply"
        return f"{kind} on case {self.case_id} by {self.author or 'the portal'}"

    @property
    def from_customer(self) -> bool:
        return self.author_kind == Actor.CUSTOMER


def attachment_upload_to(instance: Attachment, filename: str) -> str:
    # The stored name is ours, never the uploader's: no path tricks reach the disk.
    import uuid

    return f"attachments/{timezone.now():%Y/%m}/{uuid.uuid4().hex}"


class Attachment(UndeletableModel):
    message = models.ForeignKey(Message, on_delete=models.PROTECT, related_name="attachments")
    file = models.FileField(upload_to=attachment_upload_to, max_length=255)
    filename = models.CharField(max_length=255, help_text="The uploader's file name, cleaned.")
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.filename


# --- History --------------------------------------------------------------------------


class CaseEvent(models.Model):
    """One transition of one case: append-only, never updated, never deleted."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="events")
    transition = models.CharField(max_length=40)
    from_status = models.CharField(max_length=20, choices=Status)
    to_status = models.CharField(max_length=20, choices=Status)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="case_events",
    )
    actor_kind = models.CharField(max_length=10, choices=Actor)
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["case", "created_at"], name="event_case_created")]

    def __str__(self) -> str:
        return f"{self.get_from_status_display()} → {self.get_to_status_display()}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise DeletionForbidden("History entries are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise DeletionForbidden("History entries are never deleted.")

    @property
    def actor_label(self) -> str:
        if self.actor_kind == Actor.SCHEDULER:
            return "Automatically (closure policy)"
        return str(self.actor) if self.actor else self.get_actor_kind_display()


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
    NEW_CASE_ALERT = "new_case_alert", "New urgent case (to engineers)"
    DAILY_DIGEST = "daily_digest", "Daily digest (to engineer)"
    THANKS_RECEIVED = "thanks_received", "Thank-you received; case stays resolved"


class NotificationState(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    DELIVERED = "delivered", "Delivered"
    BOUNCED = "bounced", "Bounced"
    COMPLAINED = "complained", "Complained"
    REJECTED = "rejected", "Rejected"
    FAILED = "failed", "Failed"
    # Not sent on purpose: a reminder whose clock stopped before it went out.
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


# --- Invariant check ------------------------------------------------------------------


class InvariantWatermark(models.Model):
    """Per table, the highest id and row count seen by the last clean invariant check.

    Rows are never deleted and ids never reused, so the rows up to `max_id` can only
    grow in number; fewer means something was deleted (see `cases.invariants`).
    """

    table = models.CharField(max_length=100, unique=True)
    max_id = models.BigIntegerField()
    row_count = models.BigIntegerField()
    recorded_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.table}: {self.row_count} rows up to id {self.max_id}"
