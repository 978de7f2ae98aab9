"""People a case is shared with: colleagues of the requester's organisation."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from cases.models.case import Case

# --- Participants ---------------------------------------------------------------------

# Colleagues added at once, at most: more is a mailing list. A longer list is refused
# whole (see `cases.services.participants`).
MAX_COLLEAGUES_AT_ONCE = 10


class CaseParticipant(models.Model):
    """A colleague who follows a case as its requester does: sees it, is emailed about it
    and may act on it. The row exists while they take part; each addition and removal is
    a history entry of the case, which is what keeps the record."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="participants")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="participations"
    )
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    added_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["added_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["case", "user"], name="case_participant_unique"),
        ]
        # "Shared with me": a user's cases, newest first, from the index alone.
        indexes = [models.Index(fields=["user", "case"], name="participant_user_case")]

    def __str__(self) -> str:
        return f"{self.user} on {self.case}"
