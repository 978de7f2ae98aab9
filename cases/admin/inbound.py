"""Inbound email in the admin: what came in by email, and why it was turned away."""

from __future__ import annotations

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from cases.models import InboundEmail
from cases.text import CleanSearchMixin


@admin.register(InboundEmail)
class InboundEmailAdmin(CleanSearchMixin, admin.ModelAdmin):
    """Read-only: the record is evidence, written only by `cases.inbound`."""

    list_display = [
        "received_at",
        "outcome",
        "reason",
        "from_address",
        "subject",
        "case_link",
        "esp_name",
    ]
    list_filter = ["outcome", "reason", "esp_name"]
    list_select_related = ["case"]
    search_fields = ["from_address", "subject", "email_message_id"]
    date_hierarchy = "received_at"
    fields = [
        "received_at",
        "outcome",
        "reason",
        "detail",
        "case_link",
        "sender",
        "reply",
        "from_address",
        "to_addresses",
        "subject",
        "body_excerpt",
        "email_message_id",
        "esp_name",
        "provider_event_id",
    ]
    readonly_fields = fields

    @admin.display(description="Case", ordering="case")
    def case_link(self, obj: InboundEmail) -> str:
        if obj.case_id is None:
            return "—"
        url = reverse("admin:cases_case_change", args=[obj.case_id])
        return format_html('<a href="{}">{}</a>', url, obj.case.reference)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
