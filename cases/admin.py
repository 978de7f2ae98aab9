"""The engineers' workbench. Every change goes through `cases.services`."""

from __future__ import annotations

from django.contrib import admin

from .models import Case, CaseEvent, Message, Notification


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class MessageInline(ReadOnlyInline):
    model = Message
    fields = ["created_at", "author", "is_internal", "source", "body"]
    readonly_fields = fields


class CaseEventInline(ReadOnlyInline):
    model = CaseEvent
    fields = ["created_at", "transition", "from_status", "to_status", "actor", "actor_kind", "reason"]
    readonly_fields = fields


class NotificationInline(ReadOnlyInline):
    model = Notification
    fields = ["created_at", "kind", "to_email", "state", "attempts", "sent_at", "last_error"]
    readonly_fields = fields


@admin.register(Case)
class CaseAdmin(admin.ModelAdmin):
    list_display = ["reference", "subject", "requester", "organisation", "priority", "status", "assignee", "last_activity_at"]
    list_filter = ["status", "priority"]
    list_select_related = ["requester", "organisation", "assignee"]
    search_fields = ["subject", "requester__email"]
    readonly_fields = ["reference", "status", "assignee", "requester", "organisation", "original_engineer", "pending_since", "resolved_at", "closed_at", "created_at", "last_activity_at", "last_customer_activity_at"]
    fields = ["reference", "subject", "description", "priority", "status", "requester", "organisation", "assignee", "original_engineer", "pending_since", "resolved_at", "closed_at", "created_at", "last_activity_at", "last_customer_activity_at"]
    inlines = [MessageInline, CaseEventInline, NotificationInline]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
