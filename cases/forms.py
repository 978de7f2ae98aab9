"""Forms only validate; services do the work."""

from __future__ import annotations

from django import forms

from .attachments import AttachmentsField
from .models import Case, InfoRequestKind, Priority, Rating
from .models.participants import MAX_COLLEAGUES_AT_ONCE
from .text import MESSAGE_MAX_CHARS, LineField, TextField

# Room for many addresses, so that a list too long is answered by the limit's own
# message (`participants.MAX_COLLEAGUES_AT_ONCE`), not by a character count.
ADDRESSES_MAX_CHARS = 5_000
# The <datalist> of colleagues' addresses the case page suggests.
COLLEAGUES_DATALIST = "colleague-emails"


def colleagues_widget() -> forms.EmailInput:
    """One or more addresses, separated by commas, with the organisation's suggestions
    (a browser joins what is typed with commas)."""
    return forms.EmailInput(
        attrs={"multiple": True, "list": COLLEAGUES_DATALIST, "autocomplete": "off"}
    )


class CaseOpenForm(forms.ModelForm):
    description = TextField(
        label="Describe the issue",
        widget=forms.Textarea(attrs={"rows": 8}),
        max_length=MESSAGE_MAX_CHARS,
        help_text="What happened, what you expected, and anything you have tried.",
    )
    attachments = AttachmentsField(label="Attachments")
    # A text area: a list pasted one address per line keeps its line breaks (a
    # one-line field would join the addresses).
    colleagues = TextField(
        label="Share with colleagues (optional)",
        required=False,
        max_length=ADDRESSES_MAX_CHARS,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=f"Email addresses of colleagues in your organisation, separated by commas "
        f"or one per line, up to {MAX_COLLEAGUES_AT_ONCE}: they can follow the case and act "
        "on it as you do.",
    )

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


class ShareForm(forms.Form):
    """Add a colleague to a case: the services check who may be added."""

    email = LineField(
        label="Colleague's email address",
        max_length=ADDRESSES_MAX_CHARS,
        widget=colleagues_widget(),
        help_text="Someone in your organisation. Several addresses: separate them with "
        f"commas, up to {MAX_COLLEAGUES_AT_ONCE}.",
        error_messages={"required": "Enter the email address of a colleague."},
    )
    message = TextField(
        label="Message to them (optional)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2_000,
        help_text="Sent with the email telling them the case is shared with them.",
    )

    def __init__(self, *args, **kwargs):
        # Its own ids: the case page has Reopen Case's "message" field too.
        kwargs.setdefault("auto_id", "id_share_%s")
        super().__init__(*args, **kwargs)


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
