"""Signing in with email and password, and finding the signed-in user on each request."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest

from .identity import login_identity


def axes_username(request: HttpRequest, credentials: dict | None) -> str | None:
    """django-axes' `AXES_USERNAME_CALLABLE`: failures count per login identity.

    Login (`EmailUserManager.get_by_natural_key`) accepts every spelling of an address
    that shares its identity; counting them apart would give each spelling its own
    allowance of guesses.
    """
    field = settings.AXES_USERNAME_FORM_FIELD
    if credentials:
        username = credentials.get(field)
    else:
        username = getattr(request, "data", request.POST).get(field)
    return login_identity(username) if isinstance(username, str) else username


class PortalBackend(ModelBackend):
    """Django's ModelBackend, loading the user's organisation membership with the user.

    Every customer page asks what the membership allows (whose cases are visible), and
    every page shows times in the person's zone, their organisation's unless they chose
    one (`User.shown_zone`); joined here, neither is a query of its own on every request.
    """

    def get_user(self, user_id):
        User = get_user_model()  # noqa: N806 - a model class
        try:
            user = User._default_manager.select_related("membership__organisation").get(pk=user_id)
        except User.DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None
