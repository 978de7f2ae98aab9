"""Canned replies ("macros"): reply templates engineers insert on the case page.

A macro's body names placeholders in braces, `Hi {customer_first_name},`; `{{` and `}}`
stand for literal braces (a kubectl `jsonpath='{{.items}}'`). The text is filled in for
one case and one engineer by `cases.macros.render_macro`; nothing is sent until the
engineer presses a button on the case page.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from cases.models.status import InfoRequestKind


class MacroAction(models.TextChoices):
    """What the macro's text goes with on the case page (the engineer still presses it)."""

    NONE = "", "Public reply only"
    REQUEST_INFO = "request_info", "Request information"
    RESOLVE = "resolve", "Resolve"


class MacroQuerySet(models.QuerySet):
    def active(self) -> MacroQuerySet:
        return self.filter(is_active=True)


class Macro(models.Model):
    name = models.CharField(max_length=100, unique=True)
    body = models.TextField(
        help_text=(
            "Placeholders: {customer_first_name}, {reference}, {engineer_name}, "
            "{auto_close_date}. Type a brace twice to show it as it is (a kubectl jsonpath)."
        )
    )
    action = models.CharField(
        "paired action",
        max_length=20,
        choices=MacroAction.choices,
        default=MacroAction.NONE,
        blank=True,
        help_text="Inserting the macro prepares this button too; the engineer presses it.",
    )
    info_request_kind = models.CharField(
        "information asked for",
        max_length=20,
        choices=InfoRequestKind.choices,
        blank=True,
        help_text="With Request information only.",
    )
    is_active = models.BooleanField(
        "active", default=True, help_text="Inactive macros are not offered on case pages."
    )
    usage_count = models.PositiveIntegerField(default=0, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = MacroQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(action=MacroAction.REQUEST_INFO) & ~models.Q(info_request_kind="")
                )
                | (~models.Q(action=MacroAction.REQUEST_INFO) & models.Q(info_request_kind="")),
                name="macro_kind_with_request_info_only",
            ),
        ]

    def __str__(self) -> str:
        return self.name
