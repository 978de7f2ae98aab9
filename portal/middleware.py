"""Request size for provider webhooks that carry whole emails."""

from __future__ import annotations

import io
import re

from django.conf import settings
from django.http import HttpRequest, HttpResponse

INBOUND_WEBHOOK_PATH = re.compile(r"^/anymail/[a-z_]+/inbound(_mime)?/$")


class InboundEmailSizeMiddleware:
    """Let the inbound email webhooks read bodies up to `INBOUND_EMAIL_MAX_BYTES`.

    A reply with attachments (Postmark posts them base64-encoded in JSON) is far larger
    than `DATA_UPLOAD_MAX_MEMORY_SIZE`, which rightly stays small for every page; Django
    would refuse it before Anymail sees it and the customer's reply would be lost. The
    body is read here, within the larger bound, and handed on as Django itself keeps it.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method == "POST" and INBOUND_WEBHOOK_PATH.match(request.path_info):
            length = int(request.META.get("CONTENT_LENGTH") or 0)
            if length > settings.INBOUND_EMAIL_MAX_BYTES:
                return HttpResponse("Email too large.", status=413)
            body = request.read()
            # The attributes HttpRequest.body sets once it has read the stream.
            request._body = body
            request._stream = io.BytesIO(body)
        return self.get_response(request)
