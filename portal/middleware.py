"""Provider webhooks (`/anymail/...`): credentials, then size, then the body."""

from __future__ import annotations

from anymail.exceptions import AnymailWebhookValidationFailure
from anymail.utils import get_anymail_setting, get_request_basic_auth
from anymail.webhooks.base import AnymailBasicAuthMixin, AnymailCoreWebhookView
from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.urls import Resolver404, resolve
from django.utils.crypto import constant_time_compare


class InboundEmailSizeMiddleware:
    """Check a webhook post's credentials and declared size before its body is read.

    Every view Anymail serves (and the portal's subclasses of them, `cases.inbound.webhooks`) is
    guarded here, whatever the provider, in this order:

    1. Basic auth against Anymail's WEBHOOK_SECRET (one secret or a list, compared in
       constant time, as Anymail does): a wrong or missing one is refused with Anymail's
       own 400 before a byte of the body is read, so strangers cannot make the process
       buffer large posts.
    2. Content-Length against the view's `body_limit()` (inbound email:
       `INBOUND_EMAIL_MAX_BYTES`; every other webhook: Django's
       DATA_UPLOAD_MAX_MEMORY_SIZE): over it is 413, unread. Without a Content-Length
       Django reads no body at all, and the inbound views read at most the limit.
    3. The view reads and parses the body within that bound.

    Signatures that cover the body (Mailgun's) are checked by the views, after this.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method == "POST":
            view_class = webhook_view_class(request)
            if view_class is not None:
                refusal = self.refuse(request, view_class)
                if refusal is not None:
                    return refusal
        return self.get_response(request)

    def refuse(self, request: HttpRequest, view_class: type) -> HttpResponse | None:
        if issubclass(view_class, AnymailBasicAuthMixin):
            check_basic_auth(request, view_class)
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return HttpResponseBadRequest("Invalid Content-Length.")
        limit = body_limit(view_class)
        if length < 0:
            return HttpResponseBadRequest("Invalid Content-Length.")
        if limit is not None and length > limit:
            return HttpResponse("Request too large.", status=413)
        return None


def webhook_view_class(request: HttpRequest) -> type | None:
    """The Anymail webhook view this request is for, or None for any other page."""
    try:
        match = resolve(request.path_info, getattr(request, "urlconf", None))
    except Resolver404:
        return None
    view_class = getattr(match.func, "view_class", None)
    if isinstance(view_class, type) and issubclass(view_class, AnymailCoreWebhookView):
        return view_class
    return None


def body_limit(view_class: type) -> int | None:
    limit = getattr(view_class, "body_limit", None)
    return limit() if limit is not None else settings.DATA_UPLOAD_MAX_MEMORY_SIZE


def check_basic_auth(request: HttpRequest, view_class: type) -> None:
    """Anymail's basic-auth check (`AnymailBasicAuthMixin.validate_request`), on headers only.

    With no secret configured Anymail accepts any post (and warns); so does this, and
    production refuses to start without one.
    """
    secrets = get_anymail_setting("webhook_secret", default=[])
    if isinstance(secrets, str):
        secrets = [secrets] if secrets else []
    if not secrets:
        return
    sent = get_request_basic_auth(request)
    if sent is None or not any(constant_time_compare(sent, secret) for secret in secrets):
        # Anymail's own exception: Django answers it 400 and logs it as suspicious.
        raise AnymailWebhookValidationFailure(
            f"Missing or invalid basic auth in Anymail {view_class.esp_name} webhook"
        )
