"""The thread of a case: public replies, internal notes and their attachments."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from cases.models.base import UndeletableModel
from cases.models.case import Case
from cases.models.status import Actor, InfoRequestKind

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
