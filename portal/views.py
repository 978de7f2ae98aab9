"""Account-level views that belong to no domain app: ping, the profile page and the
one-click unsubscribe link from optional emails."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from . import email_preferences
from .forms import ProfileForm


@login_required
@require_GET
def ping(request: HttpRequest) -> HttpResponse:
    """ "ok" for a signed-in user: the cheapest page through the full stack (middleware,
    session and user lookup). Health checks and the benchmark's floor use it."""
    response = HttpResponse("ok", content_type="text/plain")
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_http_methods(["GET", "POST"])
def profile(request: HttpRequest) -> HttpResponse:
    """Name, time zone and the optional emails of the signed-in person."""
    form = ProfileForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        messages.success(
            request, f"Your profile is saved. Times are shown in {user.shown_zone.key}."
        )
        return redirect("profile")
    context = {
        "form": form,
        "always_sent": email_preferences.always_sent_to(request.user),
    }
    return render(request, "accounts/profile.html", context)


# The signed token is the credential, as in a mail client's one-click POST (RFC 8058),
# which carries no session and no CSRF token. It can only stop emails of one topic to
# one person; the page is never kept by a cache.
@csrf_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET: a page with one button, which changes nothing. POST (that button, or the
    mail client's `List-Unsubscribe=One-Click`): the topic is turned off. Idempotent."""
    found = email_preferences.read_unsubscribe_token(token)
    if found is None:
        return render(request, "accounts/unsubscribe.html", {"state": "invalid"}, status=400)
    user, topic = found
    context = {
        "user_email": user.email,
        "topic": topic,
        "topic_sentence": email_preferences.TOPIC_IN_A_SENTENCE[topic],
    }
    if request.method == "POST":
        email_preferences.turn_off(user, topic, source=email_preferences.FROM_LINK)
        return render(request, "accounts/unsubscribe.html", {**context, "state": "done"})
    already = topic in email_preferences.turned_off(user)
    state = "already" if already else "confirm"
    return render(request, "accounts/unsubscribe.html", {**context, "state": state})
