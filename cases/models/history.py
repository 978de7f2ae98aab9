"""Append-only history: one `CaseEvent` per transition, and the invariant watermarks."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from cases.exceptions import AppendOnlyViolation, DeletionForbidden
from cases.models.base import AppendOnlyQuerySet
from cases.models.case import Case
from cases.models.status import Actor, Status

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
        indexes = [
            models.Index(fields=["case", "created_at"], name="event_case_created"),
            # The admin's "Reopened this week" queue, counted on every case list.
            models.Index(
                fields=["created_at"],
                condition=models.Q(transition="reopen"),
                name="event_reopened",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_from_status_display()} → {self.get_to_status_display()}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyViolation("History entries are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise DeletionForbidden("History entries are never deleted.")

    @property
    def actor_label(self) -> str:
        if self.actor_kind == Actor.SCHEDULER:
            if self.transition.startswith("service_level"):
                return "Automatically (service levels)"
            if self.transition == "participant_left":
                return "Automatically (membership ended)"
            return "Automatically (closure policy)"
        return str(self.actor) if self.actor else self.get_actor_kind_display()

    # A reason's first line says what happened; what follows is the person's own words
    # (the message given when sharing a case, see `cases.services.participants`).
    @property
    def summary(self) -> str:
        return self.reason.partition("\n")[0]

    @property
    def note(self) -> str:
        return self.reason.partition("\n")[2].strip()


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
