"""Password reset requests: bounded, silent about accounts, and mailed by a worker.

A request is counted per address (its login identity) and per client address in
Django's cache; past either limit it is answered exactly as any other and sends nothing.
Every accepted request looks the address up and enqueues one task after commit, whether
or not an account matched, so neither the answer nor its timing tells the two apart;
the worker builds and sends the email.

Why a task and not the outbox (`cases.Notification`): an outbox row belongs to a case
(its foreign key, dedupe key, admin, invariants and relay all assume one) and keeps its
subject and recipient for engineers to read. A reset email belongs to no case, and its
link must not be kept anywhere. The task carries only user ids and makes the token when
it sends, so no token travels through the broker or sits in the database; a request
whose task is lost (broker down) sends nothing and the person asks again.
"""

from __future__ import annotations

import hashlib
import logging
from functools import partial
from urllib.parse import urlsplit

from axes.helpers import get_client_ip_address
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import PasswordResetForm
from django.contrib.auth.tokens import default_token_generator
from django.contrib.auth.views import PasswordResetView
from django.core.cache import cache
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.loader import render_to_string
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from redis.exceptions import RedisError

from .identity import login_identity

logger = logging.getLogger(__name__)

SUBJECT_TEMPLATE = "registration/password_reset_subject.txt"
BODY_TEMPLATE = "registration/password_reset_email.html"


def _count(key: str) -> int:
    """This window's requests under `key`, this one included; 0 when the cache is away
    (a cache outage must not stop people from resetting their password)."""
    window = int(settings.PASSWORD_RESET_LIMIT_WINDOW.total_seconds())
    try:
        cache.add(key, 0, timeout=window)
        return cache.incr(key)
    except ValueError:  # expired between add and incr: a new window
        cache.set(key, 1, timeout=window)
        return 1
    except (RedisError, OSError) as error:
        logger.warning("Password reset limit not checked, cache unavailable: %s", error)
        return 0


def reset_request_allowed(*, email: str, client: str | None) -> bool:
    """Count the request against its address and its client; False past either limit."""
    address = hashlib.sha256(login_identity(email).encode()).hexdigest()
    within_address = (
        _count(f"password-reset:address:{address}") <= settings.PASSWORD_RESET_LIMIT_PER_ADDRESS
    )
    within_client = (
        _count(f"password-reset:client:{client or 'unknown'}")
        <= settings.PASSWORD_RESET_LIMIT_PER_CLIENT
    )
    return within_address and within_client


class QueuedPasswordResetForm(PasswordResetForm):
    def save(self, **kwargs) -> None:
        """Enqueue the reset email(s) for the address, after commit.

        Django's arguments (domain, templates, token generator) are not used: links are
        built on `SITE_URL` by the worker, never on the request's Host header.
        """
        from .tasks import send_password_reset

        user_ids = [user.pk for user in self.get_users(self.cleaned_data["email"])]
        # Enqueued even with no user id: both answers do the same work. `robust`: a
        # broker outage is logged and the answer stays the same.
        transaction.on_commit(partial(send_password_reset.delay, user_ids), robust=True)


class ThrottledPasswordResetView(PasswordResetView):
    form_class = QueuedPasswordResetForm

    def form_valid(self, form: QueuedPasswordResetForm) -> HttpResponse:
        request: HttpRequest = self.request
        if reset_request_allowed(
            email=form.cleaned_data["email"], client=get_client_ip_address(request)
        ):
            form.save()
        else:
            logger.warning("Password reset request over the limit; nothing sent.")
        return HttpResponseRedirect(self.get_success_url())


def reset_email(user) -> EmailMultiAlternatives:
    """The reset email for `user`, with a fresh one-use link on `SITE_URL`."""
    site = urlsplit(settings.SITE_URL)
    context = {
        "email": user.email,
        "domain": site.netloc,
        "site_name": "Support Portal",
        "uid": urlsafe_base64_encode(force_bytes(user.pk)),
        "user": user,
        "token": default_token_generator.make_token(user),
        "protocol": site.scheme or "https",
    }
    subject = "".join(render_to_string(SUBJECT_TEMPLATE, context).splitlines())
    body = render_to_string(BODY_TEMPLATE, context)
    return EmailMultiAlternatives(subject, body, None, [user.email])


def send_reset_emails(user_ids: list[int]) -> int:
    """Send the reset email to each user still allowed one; returns how many were sent.

    Checked again here: the account may have been deactivated since the request.
    """
    users = get_user_model()._default_manager.filter(pk__in=user_ids, is_active=True)
    sent = 0
    for user in users:
        if user.has_usable_password():
            reset_email(user).send()
            sent += 1
    return sent
