"""Signing in with email and password, and finding the signed-in user on each request."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend


class PortalBackend(ModelBackend):
    """Django's ModelBackend, loading the user's organisation membership with the user.

    Every customer page asks what the membership allows (whose cases are visible); joined
    here, that is not a query of its own on every request.
    """

    def get_user(self, user_id):
        User = get_user_model()  # noqa: N806 - a model class
        try:
            user = User._default_manager.select_related("membership").get(pk=user_id)
        except User.DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None
