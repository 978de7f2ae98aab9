"""Forms only validate; services do the work."""

from __future__ import annotations

from django import forms

from .attachments import AttachmentsField
from .models import Case, InfoRequestKind, Priority, Rating
from .text import MESSAGE_MAX_CHARS, LineField, TextField


class CaseOpenForm(forms.ModelForm):
    description = TextField(
        label="Describe the issue",
        widget=forms.Textarea(attrs={"rows": 8}),
        max_length=MESSAGE_MAX_CHARS,
        help_text="What happened, what you expected, and anything you have tried.",
    )
    attachments = AttachmentsField(label="Attachments")

    class Meta:
        model = Case
        fields = ["subject", "priority", "description"]
        field_classes = {"subject": LineField}
        help_texts = {
            "priority": "P1 Critical: production down. P4 Low: a question or a minor issue.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["priority"].choices = Priority.choices
        self.fields["priority"].initial = Priority.P3


class ReplyForm(forms.Form):
    body = TextField(
        label="Your reply",
        widget=forms.Textarea(attrs={"rows": 6}),
        max_length=MESSAGE_MAX_CHARS,
        error_messages={"required": "Please write a reply."},
    )
    attachments = AttachmentsField(label="Attachments")


class ReopenForm(forms.Form):
    message = TextField(
        label="What happened? (optional)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=MESSAGE_MAX_CHARS,
    )


class CloseForm(forms.Form):
    confirm = forms.BooleanField(
        label="Yes, close this case. I can reopen it later if the issue comes back.",
        required=True,
        error_messages={"required": "Tick the box to confirm that you want to close the case."},
    )


class ConfirmForm(forms.Form):
    """Confirm it worked, with the optional one-question rating."""

    rating = forms.ChoiceField(
        label="Did this solve your problem? (optional)",
        choices=Rating.choices,
        required=False,
        widget=forms.RadioSelect,
    )
    comment = TextField(
        label="Anything to add? (optional)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=5_000,
    )


class ApprovalForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", "Approve"), ("decline", "Decline")])
    comment = TextField(
        label="Comment (optional)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=10_000,
    )


class RequestInfoForm(forms.Form):
    kind = forms.ChoiceField(label="What do you need?", choices=InfoRequestKind.choices)
    message = TextField(
        label="Message to the customer",
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="Required: the customer sees this in the thread and in the email.",
    )
