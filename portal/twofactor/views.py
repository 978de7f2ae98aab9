"""Enrolling an authenticator app and verifying a code: the step between the password
and the admin for staff. Customers never see these pages."""

from __future__ import annotations

import math
from functools import wraps
from urllib.parse import urlencode

from django.contrib import admin
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.middleware.csrf import rotate_token
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods
from django_otp import login as otp_login

from . import services
from .forms import EnrolForm, VerifyForm
from .qr import qr_svg

# The secret of an app being enrolled, until its first code confirms it.
PENDING_KEY = "twofactor_pending_key"
# New backup codes, until the engineer says they have saved them: then never shown again.
UNSAVED_CODES = "twofactor_unsaved_backup_codes"


def page_url(name: str, next_url: str) -> str:
    return f"{reverse(name)}?{urlencode({'next': next_url})}"


def staff_only(view):
    @login_required(login_url="admin:login")
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_staff:
            raise Http404
        return view(request, *args, **kwargs)

    return wrapper


def _next_url(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("admin:index")


def _page(request: HttpRequest, template: str, context: dict, status: int = 200):
    """An admin-looking page with no admin navigation: nothing is reachable from it yet."""
    site = admin.site
    return render(
        request,
        template,
        {
            "site_header": site.site_header,
            "site_title": site.site_title,
            "site_url": site.site_url,
            "has_permission": False,
            "is_nav_sidebar_enabled": False,
            **context,
        },
        status=status,
        using="django",
    )


def _mark_verified(request: HttpRequest, device) -> None:
    otp_login(request, device)
    # A session that just gained the admin gets a new key, as at a password sign-in.
    request.session.cycle_key()
    rotate_token(request)


@require_http_methods(["GET", "POST"])
@staff_only
def setup(request: HttpRequest) -> HttpResponse:
    user = request.user
    next_url = _next_url(request)
    verified = services.is_verified(user)
    enrolled = services.is_enrolled(user)
    if enrolled and not verified:
        return redirect(page_url("twofactor:verify", next_url))

    if UNSAVED_CODES in request.session and verified:
        # Enrolled already (a double submit, a reload): the codes first, until saved.
        return redirect(page_url("twofactor:backup_codes", next_url))
    request.session.pop(UNSAVED_CODES, None)  # of devices since removed

    key = request.session.get(PENDING_KEY)
    if key is None:
        key = request.session[PENDING_KEY] = services.new_key()
    form = EnrolForm(request.POST if request.method == "POST" else None)
    if form.is_bound and form.is_valid():
        try:
            enrolment = services.enrol(user, key, form.cleaned_data["code"], may_replace=verified)
        except services.AlreadyEnrolled:
            return redirect(page_url("twofactor:verify", next_url))
        if enrolment is not None:
            del request.session[PENDING_KEY]
            _mark_verified(request, enrolment.device)
            request.session[UNSAVED_CODES] = enrolment.backup_codes
            return redirect(page_url("twofactor:backup_codes", next_url))
        form.add_error(
            "code",
            "That code is not right. Check that the app shows the account just added, "
            "and enter the code it shows now.",
        )
    context = {
        "title": "Set up two-factor sign-in",
        "form": form,
        "qr": qr_svg(services.config_url(user, key)),
        "secret": services.secret_text(key),
        "replacing": enrolled,
        "next": next_url,
    }
    return _page(request, "twofactor/setup.html", context)


@require_http_methods(["GET", "POST"])
@staff_only
def backup_codes(request: HttpRequest) -> HttpResponse:
    """The new backup codes, shown until the engineer says they have saved them."""
    next_url = _next_url(request)
    codes = request.session.get(UNSAVED_CODES)
    if codes is None or request.method == "POST" or not services.is_verified(request.user):
        request.session.pop(UNSAVED_CODES, None)
        return HttpResponseRedirect(next_url)
    context = {"title": "Save your backup codes", "codes": codes, "next": next_url}
    return _page(request, "twofactor/backup_codes.html", context)


@require_http_methods(["GET", "POST"])
@staff_only
def verify(request: HttpRequest) -> HttpResponse:
    user = request.user
    next_url = _next_url(request)
    if not services.is_enrolled(user):
        return redirect(page_url("twofactor:setup", next_url))
    if services.is_verified(user):
        return HttpResponseRedirect(next_url)

    form = VerifyForm(request.POST if request.method == "POST" else None)
    locked_until = services.locked_until(user)
    status = 200
    if form.is_bound and form.is_valid():
        check = services.verify(user, form.cleaned_data["code"])
        if check.accepted:
            _mark_verified(request, check.device)
            return HttpResponseRedirect(next_url)
        if check.locked_until:
            locked_until, status = check.locked_until, 429
        elif check.retry_at:
            seconds = math.ceil((check.retry_at - timezone.now()).total_seconds())
            form.add_error(
                "code", f"Too many wrong codes in a row: wait {seconds} s, then try again."
            )
        else:
            form.add_error("code", "That code is not right, or it has been used already.")
    context = {
        "title": "Two-factor sign-in",
        "form": form,
        "locked_minutes": _minutes_until(locked_until) if locked_until else None,
        "next": next_url,
    }
    return _page(request, "twofactor/verify.html", context, status=status)


def _minutes_until(moment) -> int:
    return max(1, math.ceil((moment - timezone.now()).total_seconds() / 60))
