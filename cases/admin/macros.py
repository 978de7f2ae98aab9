"""Canned replies: their admin (engineers write and keep them), and the case page's
picker, which asks `macro_text_view` for a macro's text filled in for the case."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, JsonResponse

from cases.macros import PLACEHOLDERS, render_macro, unknown_placeholders
from cases.models import Case, Macro, MacroAction
from cases.text import MESSAGE_MAX_CHARS


class MacroForm(forms.ModelForm):
    class Meta:
        model = Macro
        fields = ["name", "body", "action", "info_request_kind", "is_active"]
        widgets = {"body": forms.Textarea(attrs={"rows": 12, "class": "vLargeTextField"})}

    def clean_body(self) -> str:
        body = self.cleaned_data["body"]
        if len(body) > MESSAGE_MAX_CHARS:
            raise ValidationError(f"A reply has at most {MESSAGE_MAX_CHARS} characters.")
        unknown = unknown_placeholders(body)
        if unknown:
            named = ", ".join("{" + name + "}" for name in unknown)
            known = ", ".join("{" + name + "}" for name in PLACEHOLDERS)
            raise ValidationError(
                f"Unknown placeholder{'s' if len(unknown) > 1 else ''}: {named}. "
                f"The placeholders are {known}; type a brace twice to show it as it is."
            )
        return body

    def clean(self):
        cleaned = super().clean()
        action = cleaned.get("action")
        kind = cleaned.get("info_request_kind")
        if action == MacroAction.REQUEST_INFO and not kind:
            self.add_error(
                "info_request_kind", "Choose what Request information asks the customer for."
            )
        elif action != MacroAction.REQUEST_INFO and kind:
            self.add_error(
                "info_request_kind", "Only a macro paired with Request information asks for this."
            )
        return cleaned


@admin.register(Macro)
class MacroAdmin(admin.ModelAdmin):
    form = MacroForm
    list_display = ["name", "paired_with", "is_active", "usage_count", "last_used_at"]
    list_filter = ["is_active", "action"]
    search_fields = ["name", "body"]
    readonly_fields = ["usage_count", "last_used_at", "created_by", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["name", "body", "action", "info_request_kind", "is_active"]}),
        ("Use", {"fields": readonly_fields}),
    ]

    @admin.display(description="Paired action", ordering="action")
    def paired_with(self, macro: Macro) -> str:
        if macro.action == MacroAction.REQUEST_INFO:
            return f"Request information: {macro.get_info_request_kind_display()}"
        return macro.get_action_display()

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


def picker_macros():
    """The macros offered on case pages."""
    return Macro.objects.active().only("pk", "name", "action", "info_request_kind")


def macro_text_view(request: HttpRequest, case: Case, macro_id: int) -> JsonResponse:
    """The macro's text for this case and engineer, and what it goes with. Changes
    nothing: the picker puts it in a box, the engineer edits and sends it."""
    macro = Macro.objects.active().filter(pk=macro_id).first()
    if macro is None:
        raise Http404("No such macro.")
    return JsonResponse(
        {
            "id": macro.pk,
            "name": macro.name,
            "text": render_macro(macro, case, request.user),
            "action": macro.action,
            "info_request_kind": macro.info_request_kind,
        }
    )
