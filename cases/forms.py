"""Forms only validate; services do the work."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat

from .attachments import ALLOWED_EXTENSIONS, verify_uploads
from .models import Case, InfoRequestKind, Priority, Rating
from .text import clean_line, clean_text

# One bound for what a person writes: a description, a reply (web or email), a message.
MESSAGE_MAX_CHARS = 50_000


class LineField(forms.CharField):
    """Single-line user text (a subject): see `cases.text.clean_line`."""

    def to_python(self, value):
        return super().to_python(clean_line(value) if isinstance(value, str) else value)


class TextField(forms.CharField):
    """Multi-line user text (a description, a reply): see `cases.text.clean_text`."""

    def to_python(self, value):
        # Cleaned before CharField strips, so a body of controls alone counts as empty.
        return super().to_python(clean_text(value) if isinstance(value, str) else value)


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class AttachmentsField(forms.FileField):
    widget = MultipleFileInput

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault(
            "help_text",
            f"Up to {settings.ATTACHMENT_MAX_FILES} files, "
            f"{filesizeformat(settings.ATTACHMENT_MAX_BYTES)} each "
            f"({', '.join(ALLOWED_EXTENSIONS)}).",
        )
        super().__init__(*args, **kwargs)
        self.widget.attrs.setdefault("accept", ",".join(ALLOWED_EXTENSIONS))
        # For the browser's check before sending (static/js/portal.js).
        self.widget.attrs.setdefault("data-max-files", settings.ATTACHMENT_MAX_FILES)
        self.widget.attrs.setdefault("data-max-bytes", settings.ATTACHMENT_MAX_BYTES)

    def clean(self, data, initial=None):
        files = data if isinstance(data, (list, tuple)) else [data] if data else []
        files = [super(AttachmentsField, self).clean(item, initial) for item in files]
        return verify_uploads([f for f in files if f])


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
