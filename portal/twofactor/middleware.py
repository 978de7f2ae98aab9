"""Every admin page (the index included) asks staff for their second factor first."""

from __future__ import annotations

from django.http import HttpRequest
from django.shortcuts import redirect

from . import services
from .views import page_url

# Signing in and out stay reachable: they are how one gets to the second factor and away.
OPEN_ADMIN_VIEWS = {"login", "logout"}


class AdminSecondFactorMiddleware:
    """After django_otp's OTPMiddleware: staff who have signed in with their password but
    not verified a device this session are sent to verify, or to enrol one if they have
    none. Decided by the admin's URL namespace, so views added to the admin later
    (ModelAdmin.get_urls) are covered without being listed."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs):
        match = request.resolver_match
        if "admin" not in match.namespaces or match.url_name in OPEN_ADMIN_VIEWS:
            return None
        user = request.user
        if not services.is_required(user) or services.is_verified(user):
            return None
        step = "twofactor:verify" if services.is_enrolled(user) else "twofactor:setup"
        return redirect(page_url(step, request.get_full_path()))
