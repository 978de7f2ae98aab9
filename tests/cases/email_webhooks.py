"""Provider-shaped webhook posts (Postmark JSON, Mailgun forms), as the providers send them.

Shapes follow Postmark's inbound/bounce/delivery webhooks and Mailgun's routes
(forward()) and signed event webhooks, as Anymail parses them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from email.message import EmailMessage
from io import BytesIO

WEBHOOK_SECRET = "anymail:webhook-secret-for-tests"
MAILGUN_SIGNING_KEY = "key-mailgun-signing-for-tests"

POSTMARK_INBOUND_URL = "/anymail/postmark/inbound/"
POSTMARK_TRACKING_URL = "/anymail/postmark/tracking/"
MAILGUN_INBOUND_URL = "/anymail/mailgun/inbound/"
MAILGUN_INBOUND_MIME_URL = "/anymail/mailgun/inbound_mime/"
MAILGUN_TRACKING_URL = "/anymail/mailgun/tracking/"


def configure(settings) -> None:
    """The webhook credentials, as production sets them from the environment."""
    settings.ANYMAIL = {
        "WEBHOOK_SECRET": WEBHOOK_SECRET,
        "MAILGUN_WEBHOOK_SIGNING_KEY": MAILGUN_SIGNING_KEY,
    }


def basic_auth(secret: str = WEBHOOK_SECRET) -> dict[str, str]:
    token = base64.b64encode(secret.encode()).decode()
    return {"HTTP_AUTHORIZATION": f"Basic {token}"}


def new_message_id(domain: str = "mail.customer.example") -> str:
    return f"<{uuid.uuid4().hex}@{domain}>"


class UnreadableStream:
    """A request body that fails the test if anything reads it."""

    def read(self, *args):
        raise AssertionError("The request body was read")

    readline = read


def post_unread(client, path: str, length: int, **extra):
    """A POST declaring `length` bytes whose body must never be read."""
    return client.generic(
        "POST",
        path,
        content_type="application/json",
        CONTENT_LENGTH=str(length),
        **{"wsgi.input": UnreadableStream()},
        **extra,
    )


# --- Postmark -------------------------------------------------------------------------


def postmark_inbound(
    *,
    from_email: str,
    to: str,
    subject: str,
    text: str,
    message_id: str | None = None,
    headers: list[tuple[str, str]] = (),
    html: str = "",
    attachments: list[tuple[str, bytes, str]] = (),
    return_path: str | None = None,
) -> dict:
    message_id = message_id or new_message_id()
    return {
        "FromName": "",
        "From": from_email,
        "FromFull": {"Email": from_email, "Name": "", "MailboxHash": ""},
        "To": to,
        "ToFull": [{"Email": to, "Name": "", "MailboxHash": ""}],
        "Cc": "",
        "CcFull": [],
        "Bcc": "",
        "BccFull": [],
        "OriginalRecipient": to,
        "Subject": subject,
        "MessageID": str(uuid.uuid4()),
        "ReplyTo": "",
        "MailboxHash": "",
        "Date": "Sat, 28 Nov 2026 09:15:00 +0000",
        "TextBody": text,
        "HtmlBody": html,
        "StrippedTextReply": "",
        "Tag": "",
        "Headers": [
            {
                "Name": "Return-Path",
                "Value": return_path if return_path is not None else f"<{from_email}>",
            },
            {
                "Name": "Received",
                "Value": "by mail.customer.example with SMTP; Sat, 28 Nov 2026 09:15:00 +0000",
            },
            {"Name": "X-Spam-Status", "Value": "No"},
            {"Name": "X-Spam-Score", "Value": "-0.1"},
            {"Name": "MIME-Version", "Value": "1.0"},
            {"Name": "Message-ID", "Value": message_id},
            *({"Name": name, "Value": value} for name, value in headers),
        ],
        "Attachments": [
            {
                "Name": name,
                "Content": base64.b64encode(content).decode("ascii"),
                "ContentType": content_type,
                "ContentLength": len(content),
            }
            for name, content, content_type in attachments
        ],
    }


def post_postmark_inbound(client, payload: dict, *, auth: dict | None = None):
    return client.post(
        POSTMARK_INBOUND_URL,
        data=json.dumps(payload),
        content_type="application/json",
        **(basic_auth() if auth is None else auth),
    )


def postmark_bounce(
    *, notification_id: int, email: str, message_id: str, bounce_type: str = "HardBounce"
) -> dict:
    return {
        "RecordType": "Bounce",
        "ID": 4323372036854775807,
        "Type": bounce_type,
        "TypeCode": 1,
        "Name": "Hard bounce",
        "Tag": "pending_customer",
        "MessageID": message_id,
        "Metadata": {"notification_id": str(notification_id)},
        "ServerID": 23,
        "MessageStream": "outbound",
        "Description": "The server was unable to deliver your message (ex: unknown user).",
        "Details": "smtp;550 5.1.1 The email account that you tried to reach does not exist.",
        "Email": email,
        "From": "support@example.com",
        "BouncedAt": "2026-11-28T09:20:00Z",
        "DumpAvailable": True,
        "Inactive": True,
        "CanActivate": True,
        "Subject": "We need your input",
    }


def postmark_delivery(*, notification_id: int | None, email: str, message_id: str) -> dict:
    return {
        "RecordType": "Delivery",
        "ServerID": 23,
        "MessageStream": "outbound",
        "MessageID": message_id,
        "Recipient": email,
        "Tag": "pending_customer",
        "DeliveredAt": "2026-11-28T09:16:00Z",
        "Details": "Test delivery webhook details",
        "Metadata": {"notification_id": str(notification_id)} if notification_id else {},
    }


def postmark_complaint(*, notification_id: int, email: str, message_id: str) -> dict:
    payload = postmark_bounce(notification_id=notification_id, email=email, message_id=message_id)
    payload.update(RecordType="SpamComplaint", Type="SpamComplaint", TypeCode=512)
    return payload


def post_postmark_tracking(client, payload: dict, *, auth: dict | None = None):
    return client.post(
        POSTMARK_TRACKING_URL,
        data=json.dumps(payload),
        content_type="application/json",
        **(basic_auth() if auth is None else auth),
    )


# --- Mailgun --------------------------------------------------------------------------


def mailgun_signature(timestamp: str, token: str, key: str = MAILGUN_SIGNING_KEY) -> str:
    return hmac.new(
        key.encode("ascii"), f"{timestamp}{token}".encode("ascii"), hashlib.sha256
    ).hexdigest()


def mailgun_inbound(
    *,
    from_email: str,
    to: str,
    subject: str,
    text: str,
    message_id: str | None = None,
    headers: list[tuple[str, str]] = (),
    attachments: list[tuple[str, bytes, str]] = (),
    signing_key: str = MAILGUN_SIGNING_KEY,
    timestamp: str | None = None,
    token: str | None = None,
) -> dict:
    """A route's forward() post: fully parsed fields plus the signature fields."""
    message_id = message_id or new_message_id()
    timestamp = timestamp or str(int(time.time()))
    token = token or uuid.uuid4().hex + uuid.uuid4().hex[:18]
    message_headers = [
        ["X-Mailgun-Spf", "Pass"],
        ["X-Mailgun-Sflag", "No"],
        ["X-Mailgun-Sscore", "0.1"],
        ["Received", "by mail.customer.example with SMTP"],
        ["Mime-Version", "1.0"],
        ["From", from_email],
        ["Date", "Sat, 28 Nov 2026 09:15:00 +0000"],
        ["Message-Id", message_id],
        ["Subject", subject],
        ["To", to],
        ["Content-Type", 'multipart/mixed; boundary="000000000000d7b8"'],
        *([name, value] for name, value in headers),
    ]
    data = {
        "recipient": to,
        "sender": from_email,
        "from": from_email,
        "subject": subject,
        "body-plain": text,
        "stripped-text": "",
        "stripped-signature": "",
        "body-html": "",
        "stripped-html": "",
        "message-headers": json.dumps(message_headers),
        "timestamp": timestamp,
        "token": token,
        "signature": mailgun_signature(timestamp, token, signing_key),
    }
    if attachments:
        data["attachment-count"] = str(len(attachments))
        for number, (name, content, _content_type) in enumerate(attachments, start=1):
            upload = BytesIO(content)
            upload.name = name
            data[f"attachment-{number}"] = upload
    return data


def mailgun_inbound_mime(
    *,
    from_email: str,
    to: str,
    subject: str,
    text: str,
    attachments: list[tuple[str, bytes, str]] = (),
) -> dict:
    """A raw-MIME route post (URL containing "mime"): the whole email in `body-mime`."""
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = from_email, to, subject
    message["Message-ID"] = new_message_id()
    message.set_content(text)
    for name, content, content_type in attachments:
        maintype, subtype = content_type.split("/")
        message.add_attachment(content, maintype=maintype, subtype=subtype, filename=name)
    timestamp = str(int(time.time()))
    token = uuid.uuid4().hex + uuid.uuid4().hex[:18]
    return {
        "recipient": to,
        "sender": from_email,
        "from": from_email,
        "subject": subject,
        "body-mime": message.as_string(),
        "timestamp": timestamp,
        "token": token,
        "signature": mailgun_signature(timestamp, token),
    }


def mailgun_event(
    *,
    event: str,
    message_id: str,
    recipient: str,
    notification_id: int | None = None,
    severity: str = "permanent",
    signing_key: str = MAILGUN_SIGNING_KEY,
    timestamp: str | None = None,
    token: str | None = None,
) -> dict:
    """A signed JSON event from Mailgun's webhooks (2018+ format)."""
    timestamp = timestamp or str(int(time.time()))
    token = token or uuid.uuid4().hex
    event_data = {
        "event": event,
        "timestamp": float(timestamp),
        "id": uuid.uuid4().hex[:22],
        "recipient": recipient,
        "tags": ["pending_customer"],
        "user-variables": {"notification_id": str(notification_id)} if notification_id else {},
        "message": {
            "headers": {
                "to": recipient,
                "message-id": message_id.strip("<>"),
                "from": "support@example.com",
                "subject": "We need your input",
            }
        },
    }
    if event == "failed":
        event_data.update(
            severity=severity,
            reason="bounce",
            **{
                "delivery-status": {
                    "code": 550,
                    "message": "5.1.1 mailbox does not exist",
                    "description": "",
                }
            },
        )
    if event == "delivered":
        event_data["delivery-status"] = {"code": 250, "message": "OK", "description": ""}
    if event == "rejected":
        event_data["reject"] = {
            "reason": "Sandbox subdomains are for test purposes only",
            "description": "",
        }
    return {
        "signature": {
            "timestamp": timestamp,
            "token": token,
            "signature": mailgun_signature(timestamp, token, signing_key),
        },
        "event-data": event_data,
    }


def post_mailgun_inbound(client, data: dict, *, auth: dict | None = None):
    return client.post(MAILGUN_INBOUND_URL, data=data, **(basic_auth() if auth is None else auth))


def post_mailgun_inbound_mime(client, data: dict, *, auth: dict | None = None):
    return client.post(
        MAILGUN_INBOUND_MIME_URL, data=data, **(basic_auth() if auth is None else auth)
    )


def post_mailgun_tracking(client, payload: dict, *, auth: dict | None = None):
    return client.post(
        MAILGUN_TRACKING_URL,
        data=json.dumps(payload),
        content_type="application/json",
        **(basic_auth() if auth is None else auth),
    )


# --- Replies to the portal's own emails -----------------------------------------------

INBOUND = {
    "postmark": (postmark_inbound, post_postmark_inbound),
    "mailgun": (mailgun_inbound, post_mailgun_inbound),
}


def reply(
    case,
    by=None,
    *,
    to=None,
    from_email: str | None = None,
    provider: str = "postmark",
    subject: str = "Re: input",
    text: str = "Hi",
    **fields,
) -> dict:
    """An email `by` someone (the requester unless named) about `case`, as `provider` posts it.

    It goes to the reply address the portal gave `to` (a person, `by` unless named) or to
    `to` itself when that is an address; `from_email` stands in for a crafted From."""
    from cases.outbox import reply_address

    by = by or case.requester
    to = to or by
    build, _post = INBOUND[provider]
    return build(
        from_email=by.email if from_email is None else from_email,
        to=to if isinstance(to, str) else reply_address(case, to),
        subject=subject,
        text=text,
        **fields,
    )


def post_inbound(client, payload: dict, *, provider: str = "postmark", auth: dict | None = None):
    _build, post = INBOUND[provider]
    return post(client, payload, auth=auth)


def send_reply(client, case, by=None, *, provider: str = "postmark", **fields):
    """Builds `reply(...)` and posts it to that provider's inbound webhook."""
    return post_inbound(client, reply(case, by, provider=provider, **fields), provider=provider)


# --- What a post left behind ----------------------------------------------------------


def refreshed(instance):
    """`instance` as the database has it now."""
    instance.refresh_from_db()
    return instance


def recorded(**expected):
    """The one inbound email record, once its fields named in `expected` match."""
    from cases.models import InboundEmail

    record = InboundEmail.objects.get()
    assert {name: getattr(record, name) for name in expected} == expected
    return record


def assert_still_waiting(case, reason) -> None:
    """The email was recorded for `reason` and the case still waits for the customer."""
    from cases.models import Status

    assert refreshed(case).status == Status.PENDING_CUSTOMER
    recorded(reason=reason)
