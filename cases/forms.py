"""Forms only validate; services do the work."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat

from .models import Case, InfoRequestKind, Priority, Rating
from .uploads import ALLOWED_EXTENSIONS, verify_uploads


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

    def clean(self, data, initial=None):
        files = data if isinstance(data, (list, tuple)) else [data] if data else []
        files = [super(AttachmentsField, self).clean(item, initial) for item in files]
        return verify_uploads([f for f in files if f])


class CaseOpenForm(forms.ModelForm):
    attachments = AttachmentsField(label="Attachments")

    class Meta:
        model = Case
        fields = ["subject", "priority", "description"]
        labels = {"description": "Describe the issue"}
        widgets = {"description": forms.Textarea(attrs={"rows": 8})}
        help_texts = {
            "priority": "P1 Critical: production down. P4 Low: a question or a minor issue.",
            "description": "What happened, what you expected, and anything you have tried.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["priority"].choices = Priority.choices
        self.fields["priority"].initial = Priority.P3


class ReplyForm(forms.Form):
    body = forms.CharField(
        label="Your reply",
        widget=forms.Textarea(attrs={"rows": 6}),
        max_length=50_000,
        error_messages={"required": "Please write a reply."},
    )
    attachments = AttachmentsField(label="Attachments")


class ReopenForm(forms.Form):
    message = forms.CharField(
        label="What happened? (optional)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=50_000,
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
    comment = forms.CharField(
        label="Anything to add? (optional)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=5_000,
    )


class ApprovalForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", "Approve"), ("decline", "Decline")])
    comment = forms.CharField(
        label="Comment (optional)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=10_000,
    )


class RequestInfoForm(forms.Form):
    kind = forms.ChoiceField(label="What do you need?", choices=InfoRequestKind.choices)
    message = forms.CharField(
        label="Message to the customer",
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="Required: the customer sees this in the thread and in the email.",
    )
