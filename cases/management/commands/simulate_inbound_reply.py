"""Post a reply to a case as the email provider would, to try the email side locally.

    python manage.py simulate_inbound_reply CS-1004 "Here are the logs." [--from EMAIL]

The reply goes to the case's signed reply address as a Postmark inbound webhook post,
through Anymail's webhook view with the webhook secret: the same routing, sender checks,
quote trimming and services as a real reply. It prints what happened to it.
"""

from __future__ import annotations

import base64
import json
import secrets
import uuid
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from cases.models import Case, InboundEmail
from cases.outbox import reply_address


def postmark_inbound_payload(
    *, from_email: str, to: str, subject: str, text: str, message_id: str
) -> dict:
    """The JSON Postmark posts for one inbound email (the fields Anymail reads)."""
    return {
        "From": from_email,
        "FromName": "",
        "FromFull": {"Email": from_email, "Name": "", "MailboxHash": ""},
        "To": to,
        "ToFull": [{"Email": to, "Name": "", "MailboxHash": ""}],
        "Cc": "",
        "CcFull": [],
        "OriginalRecipient": to,
        "Subject": subject,
        "MessageID": str(uuid.uuid4()),
        "Date": timezone.now().strftime("%a, %d %b %Y %H:%M:%S +0000"),
        "TextBody": text,
        "HtmlBody": "",
        "StrippedTextReply": "",
        "Headers": [
            {"Name": "Return-Path", "Value": f"<{from_email}>"},
            {"Name": "MIME-Version", "Value": "1.0"},
            {"Name": "Message-ID", "Value": message_id},
        ],
        "Attachments": [],
    }


class Command(BaseCommand):
    help = "Post a provider-shaped (Postmark) email reply to a case and print the outcome."

    def add_arguments(self, parser):
        parser.add_argument("reference", help="the case, e.g. CS-1004")
        parser.add_argument("text", help="the reply's text (quoted history is trimmed)")
        parser.add_argument(
            "--from", dest="from_email", help="sender address (default: the case's requester)"
        )

    def handle(self, *args, reference: str, text: str, from_email: str | None, **options):
        pk = Case.pk_from_reference(reference)
        case = Case.objects.select_related("requester").filter(pk=pk).first() if pk else None
        if case is None:
            raise CommandError(f"No case {reference}.")
        from_email = from_email or case.requester.email
        sender = get_user_model().objects.filter(email__iexact=from_email).first()
        # The address the notification went to: the sender's own, else the requester's
        # (as if someone else answered a forwarded email; the sender check decides).
        to = reply_address(case, sender or case.requester)
        payload = postmark_inbound_payload(
            from_email=from_email,
            to=to,
            subject=f"Re: [{case.reference}] {case.subject}",
            text=text,
            message_id=f"<{uuid.uuid4().hex}@simulated.example>",
        )
        before = InboundEmail.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        status = self._post(payload)
        record = InboundEmail.objects.filter(pk__gt=before).order_by("pk").first()
        case.refresh_from_db()
        self.stdout.write(f"Posted to Postmark's inbound webhook: HTTP {status}")
        self.stdout.write(f"From {from_email} to {to}")
        if record is None:
            raise CommandError("Nothing was recorded (see the log above).")
        self.stdout.write(
            f"Outcome: {record.get_outcome_display()}, {record.get_reason_display()}"
            + (f": {record.detail}" if record.detail else "")
        )
        self.stdout.write(f"{case.reference} is now {case.get_status_display()}.")

    def _post(self, payload: dict) -> int:
        """POST it through the real URL and view, with the webhook's basic auth."""
        anymail = dict(settings.ANYMAIL)
        # Locally there may be no secret: use a throwaway one, so the check still runs.
        anymail.setdefault("WEBHOOK_SECRET", f"simulate:{secrets.token_urlsafe(16)}")
        site = urlsplit(settings.SITE_URL)
        token = base64.b64encode(anymail["WEBHOOK_SECRET"].encode()).decode()
        with override_settings(ANYMAIL=anymail):
            response = Client(HTTP_HOST=site.netloc).post(
                reverse("anymail:postmark_inbound_webhook"),
                data=json.dumps(payload),
                content_type="application/json",
                secure=site.scheme == "https",
                HTTP_AUTHORIZATION=f"Basic {token}",
            )
        return response.status_code
