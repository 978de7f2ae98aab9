"""Signed-in pages are never stored; uploads larger than any form accepts are refused unread."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import add_never_cache_headers
from django.utils.http import url_has_allowed_host_and_scheme

# Provider webhooks carry whole emails: portal.middleware.InboundEmailSizeMiddleware bounds them.
WEBHOOK_PREFIX = "/anymail/"
MB = 1024 * 1024


class PrivatePagesMiddleware:
    """Whatever a signed-in person is shown (their cases, the workbench, even an error
    page with their name) is kept by no browser cache, back-forward cache or proxy."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and not _says_no_store(response):
            add_never_cache_headers(response)
        return response


def _says_no_store(response: HttpResponse) -> bool:
    """Responses that already forbid storing (downloads, ping) keep their own header."""
    directives = response.get("Cache-Control", "").lower().split(",")
    return "no-store" in {directive.strip() for directive in directives}


def upload_request_max_bytes() -> int:
    """The largest body a form of the site can need: every attachment at its largest, plus
    the text fields (Django keeps those under DATA_UPLOAD_MAX_MEMORY_SIZE) and multipart
    framing."""
    text = settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 2.5 * MB
    return int(settings.ATTACHMENT_MAX_FILES * settings.ATTACHMENT_MAX_BYTES + text + MB)


class UploadSizeLimitMiddleware:
    """Refuse a request whose declared size no form accepts, before its body is read.

    Django spools uploaded files to disk whatever their size and the attachment limits
    are checked only afterwards: a 300 MB post was written out in full to be refused.
    Here it is answered 413 from its Content-Length alone. Must come before anything
    that reads `request.POST` or `request.body` (CsrfViewMiddleware reads it later, in
    process_view).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path_info.startswith(WEBHOOK_PREFIX):
            declared = request.META.get("CONTENT_LENGTH") or ""
            # Django itself reads a missing or malformed length as an empty body.
            length = int(declared) if declared.isascii() and declared.isdigit() else 0
            if length > upload_request_max_bytes():
                return request_too_large(request, length)
        return self.get_response(request)


def request_too_large(request: HttpRequest, declared: int) -> HttpResponse:
    """The 413 page: the limits, and the way back to the form, which still holds the text
    (the browser keeps a form's fields when one goes back to it)."""
    back = request.headers.get("Referer", "")
    if not url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        back = ""
    context = {
        "max_files": settings.ATTACHMENT_MAX_FILES,
        "max_file_mb": settings.ATTACHMENT_MAX_BYTES / MB,
        "max_total_mb": settings.ATTACHMENT_MAX_FILES * settings.ATTACHMENT_MAX_BYTES / MB,
        "sent_mb": declared / MB,
        "back_url": back,
    }
    return render(request, "413.html", context, status=413)
