"""The Postmark and Mailgun webhooks, as Anymail's views with the portal's transport rules.

Wired in `portal.urls` ahead of Anymail's own URLs (same paths, same names):

- inbound bodies are read within `INBOUND_EMAIL_MAX_BYTES`, not Django's 2 MB page limit
  (a reply with attachments is far larger than any page form); `portal.middleware`
  has already checked the credentials and the Content-Length before anything is read;
- a payload Anymail cannot turn into a message (an empty attachment, a provider's odd
  field, a misrouted webhook) is recorded as an unreadable `InboundEmail` and answered
  200: retrying the same payload would fail the same way, and nothing is lost;
- a Mailgun signature is accepted once and only while fresh: Mailgun signs only the
  timestamp and token, so without this a captured signature could carry any body.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from email import policy
from email.parser import BytesParser

from anymail.exceptions import AnymailWebhookValidationFailure
from anymail.webhooks import mailgun, postmark
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.files.uploadhandler import FileUploadHandler
from django.http import HttpRequest, QueryDict
from django.urls import path, re_path
from django.utils.datastructures import MultiValueDict
from redis.exceptions import RedisError

from cases.inbound import receive as inbound

logger = logging.getLogger(__name__)


def inbound_body_limit() -> int:
    return settings.INBOUND_EMAIL_MAX_BYTES


def read_body(request: HttpRequest, limit: int) -> bytes:
    """The request body, never more than `limit` bytes of it (with or without a length)."""
    body = request.read(limit + 1)
    if len(body) > limit:
        raise RequestDataTooBig("Email too large.")
    return body


def unreadable(esp_name: str, raw: bytes, error: Exception) -> list:
    """Record a payload that could not be read, and answer with no events."""
    logger.warning("Unreadable %s inbound payload", esp_name, exc_info=error)
    inbound.record_unreadable(
        esp_name=esp_name, raw=raw, problem=f"{type(error).__name__}: {error}"
    )
    return []


# --- Postmark -------------------------------------------------------------------------


def _with_readable_attachments(esp_event: dict) -> dict:
    """Anymail reads `Content or Data`: an empty file's "" would fall through to a
    missing "Data" (KeyError). Every attachment gets its content under both names."""
    attachments = esp_event.get("Attachments")
    if not isinstance(attachments, list):
        return esp_event
    readable = []
    for attachment in attachments:
        if isinstance(attachment, dict):
            content = attachment.get("Content") or attachment.get("Data") or ""
            attachment = {**attachment, "Content": content, "Data": content}
        readable.append(attachment)
    return {**esp_event, "Attachments": readable}


class PostmarkInboundWebhookView(postmark.PostmarkInboundWebhookView):
    body_limit = staticmethod(inbound_body_limit)

    def parse_events(self, request):
        raw = read_body(request, self.body_limit())
        try:
            esp_event = json.loads(raw.decode("utf-8"))
            return [self.esp_to_anymail_event(_with_readable_attachments(esp_event))]
        except Exception as error:  # noqa: BLE001 - any provider input is recorded, never a 500
            return unreadable(self.esp_name, raw, error)


# --- Mailgun --------------------------------------------------------------------------


class InboundFormUploadHandler(FileUploadHandler):
    """Parse a multipart post within `limit` bytes, fields included.

    Mailgun's raw-MIME route posts the whole email as one form *field* (`body-mime`),
    which Django's own parser bounds by DATA_UPLOAD_MAX_MEMORY_SIZE for every request.
    `handle_raw_input` is Django's hook for taking over the parsing of one request; the
    field and file counts keep Django's limits.
    """

    def __init__(self, request: HttpRequest, limit: int):
        super().__init__(request)
        self.limit = limit

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        if content_length > self.limit:
            raise RequestDataTooBig("Email too large.")
        body = input_data.read(self.limit + 1)
        if len(body) > self.limit:
            raise RequestDataTooBig("Email too large.")
        content_type = META.get("CONTENT_TYPE", "").encode("latin-1")
        form = BytesParser(policy=policy.HTTP).parsebytes(
            b"Content-Type: " + content_type + b"\r\n\r\n" + body
        )
        post, files = QueryDict(mutable=True, encoding=encoding), MultiValueDict()
        parts = list(form.iter_parts()) if form.is_multipart() else []
        max_fields = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
        max_files = settings.DATA_UPLOAD_MAX_NUMBER_FILES
        for part in parts:
            name = part.get_param("name", header="content-disposition")
            if not name:
                continue
            content = part.get_payload(decode=True) or b""
            filename = part.get_filename()
            if filename is None:
                if max_fields is not None and len(post) >= max_fields:
                    raise TooManyFieldsSent("Too many fields.")
                charset = part.get_content_charset() or encoding or settings.DEFAULT_CHARSET
                post.appendlist(name, content.decode(charset, errors="replace"))
            else:
                if max_files is not None and len(files) >= max_files:
                    raise TooManyFilesSent("Too many files.")
                files.appendlist(
                    name, SimpleUploadedFile(filename, content, part.get_content_type())
                )
        post._mutable = False
        return post, files

    def receive_data_chunk(self, raw_data, start):  # not reached: handle_raw_input parses
        return raw_data

    def file_complete(self, file_size):
        return None


class FreshMailgunSignatureMixin:
    """Refuse a Mailgun signature that is stale, from the future, or seen before.

    Checked after Anymail's own validators (basic auth, then the signature), so only a
    genuine token is remembered. The token is remembered in the cache for twice the
    window, the longest a timestamp stays acceptable; `cache.add` makes the first use
    win when two posts race. A cache that cannot answer refuses (Mailgun retries).
    """

    def run_validators(self, request):
        super().run_validators(request)
        timestamp, token = self._signature_fields(request)
        window = settings.MAILGUN_WEBHOOK_MAX_AGE_SECONDS
        try:
            age = time.time() - float(timestamp)
        except (TypeError, ValueError) as error:
            raise AnymailWebhookValidationFailure(
                "Mailgun webhook timestamp unreadable"
            ) from error
        if abs(age) > window:
            raise AnymailWebhookValidationFailure("Mailgun webhook timestamp is not fresh")
        digest = hashlib.sha256(str(token).encode()).hexdigest()
        try:
            first_use = cache.add(f"mailgun-webhook-token:{digest}", 1, timeout=2 * window)
        except (RedisError, OSError) as error:
            raise AnymailWebhookValidationFailure(
                "Mailgun webhook token not checked: the cache is unavailable"
            ) from error
        if not first_use:
            raise AnymailWebhookValidationFailure("Mailgun webhook token was already used")

    @staticmethod
    def _signature_fields(request) -> tuple[str, str]:
        if request.content_type == "application/json":
            signature = json.loads(request.body.decode("utf-8"))["signature"]
            return signature["timestamp"], signature["token"]
        return request.POST["timestamp"], request.POST["token"]


class MailgunInboundWebhookView(FreshMailgunSignatureMixin, mailgun.MailgunInboundWebhookView):
    body_limit = staticmethod(inbound_body_limit)

    def setup(self, request, *args, **kwargs):
        super().setup(request, *args, **kwargs)
        # Before anything reads request.POST: Mailgun's validator is the first.
        request.upload_handlers = [InboundFormUploadHandler(request, self.body_limit())]

    def parse_events(self, request):
        try:
            return super().parse_events(request)
        except Exception as error:  # noqa: BLE001 - any provider input is recorded, never a 500
            return unreadable(self.esp_name, self._raw(request), error)

    @staticmethod
    def _raw(request) -> bytes:
        if request.content_type == "application/json":
            return request.body
        fields = [f"{name}: {value}" for name, values in request.POST.lists() for value in values]
        return "\n".join(fields).encode("utf-8", errors="replace")


class MailgunTrackingWebhookView(FreshMailgunSignatureMixin, mailgun.MailgunTrackingWebhookView):
    pass


urlpatterns = [
    path(
        "postmark/inbound/",
        PostmarkInboundWebhookView.as_view(),
        name="postmark_inbound_webhook",
    ),
    re_path(
        # Anymail's own pattern: Mailgun posts raw MIME when the URL contains "mime".
        r"^mailgun/inbound(_mime)?/$",
        MailgunInboundWebhookView.as_view(),
        name="mailgun_inbound_webhook",
    ),
    path(
        "mailgun/tracking/",
        MailgunTrackingWebhookView.as_view(),
        name="mailgun_tracking_webhook",
    ),
]
