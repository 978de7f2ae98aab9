"""Celery tasks for accounts: thin, taking ids."""

from __future__ import annotations

from anymail.exceptions import AnymailAPIError
from celery import shared_task

from . import password_reset


# A reset link is made afresh on each try; a retry after a half-finished send may email
# a second, equally valid link, which is harmless.
@shared_task(
    acks_late=True,
    autoretry_for=(AnymailAPIError, OSError),
    retry_backoff=30,
    retry_jitter=True,
    max_retries=4,
)
def send_password_reset(user_ids: list[int]) -> int:
    """Email a password reset link to each of `user_ids` (none: nothing to do)."""
    return password_reset.send_reset_emails(user_ids)
