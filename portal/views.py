"""Account-level views that belong to no domain app."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET


@login_required
@require_GET
def ping(request: HttpRequest) -> HttpResponse:
    """ "ok" for a signed-in user: the cheapest page through the full stack (middleware,
    session and user lookup). Health checks and the benchmark's floor use it."""
    response = HttpResponse("ok", content_type="text/plain")
    response["Cache-Control"] = "private, no-store"
    return response
