"""Forms of the engineers' workbench (the case page in the admin). They only validate."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from cases.attachments import AttachmentsField
from cases.models import InfoRequestKind, Status
from cases.selectors import engineers
from cases.text import MESSAGE_MAX_CHARS, LineField, TextField


class MacroUsedField(forms.Field):
    """The macro the case page's picker filled the text from (a hidden field), counted
    as used when the message is sent. Anything that is not a macro id counts nothing
    and never stops the message."""

    widget = forms.HiddenInput

    def __init__(self, **kwargs):
        super().__init__(required=False, **kwargs)

    def clean(self, value) -> int | None:
        if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 18:
            return int(value)
        return None


class WorkbenchActionForm(forms.Form):
    """A button on the case page. `seen_status` is the status the engineer was looking at:
    if the case moved since (the customer replied, closed it...), nothing is done."""

    seen_status = forms.ChoiceField(choices=Status.choices, widget=forms.HiddenInput)


class AssignForm(WorkbenchActionForm):
    assignee = forms.ModelChoiceField(
        label="Assign to",
        queryset=engineers().order_by("full_name", "email"),
        empty_label=None,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The select reads its choices twice when drawn (once to decide `required`):
        # read the engineers once (a comprehension: list() would COUNT them first).
        # Validation still asks the queryset.
        field = self.fields["assignee"]
        field.widget.choices = [choice for choice in field.choices]  # noqa: C416


class RequestInfoForm(WorkbenchActionForm):
    macro = MacroUsedField()
    kind = forms.ChoiceField(label="What do you need?", choices=InfoRequestKind.choices)
    message = TextField(
        label="Message to the customer",
        widget=forms.Textarea(attrs={"rows": 5}),
        max_length=MESSAGE_MAX_CHARS,
        help_text="Required: the customer sees it in the thread and in the email.",
        error_messages={"required": "Write the message to the customer saying what you need."},
    )

    def clean_message(self) -> str:
        message = self.cleaned_data["message"].strip()
        if not message:
            raise ValidationError("Write the message to the customer saying what you need.")
        return message


class ResolveForm(WorkbenchActionForm):
    macro = MacroUsedField()
    message = TextField(
        label="Message to the customer (optional)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=MESSAGE_MAX_CHARS,
    )


class CloseForm(WorkbenchActionForm):
    reason = LineField(label="Reason (history only, optional)", required=False, max_length=500)


class ReopenForm(WorkbenchActionForm):
    message = TextField(
        label="Message to the customer (optional)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=MESSAGE_MAX_CHARS,
    )


class ThreadMessageForm(forms.Form):
    """One box, two buttons: a public reply (emailed to the customer) or an internal note."""

    body = TextField(
        label="Message",
        widget=forms.Textarea(attrs={"rows": 6}),
        max_length=MESSAGE_MAX_CHARS,
        error_messages={"required": "Write a message."},
    )
    attachments = AttachmentsField(label="Attachments (public replies only)")
    macro = MacroUsedField()
