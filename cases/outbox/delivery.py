"""Delivery, in a worker: claim a row under its lock, send, record the outcome.

A task that runs twice, a relay that re-enqueues a lost task, or a worker killed
mid-send never sends an email that is already sent.
"""

from __future__ import annotations

import enum
import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from anymail.exceptions import AnymailAPIError, AnymailInvalidAddress, AnymailRecipientsRefused
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from cases.models import (
    Notification,
    NotificationState,
)
from cases.outbox.emails import build_email
from cases.outbox.preferences import not_sent_reasons
from cases.outbox.triggers import enqueue, is_obsolete, obsolete_reason

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8


def stale_sending_after() -> timedelta:
    """A row left in "sending" this long belongs to a worker that died mid-send."""
    return timedelta(seconds=settings.NOTIFICATION_STALE_SENDING_SECONDS)


def relay_grace() -> timedelta:
    """Fresh rows are normally being sent by their own task; the relay leaves them alone."""
    return timedelta(seconds=settings.NOTIFICATION_RELAY_GRACE_SECONDS)


# Emails one task sends with deliver_many(): what a killed worker may leave to resend.


# --- Delivery (in a worker) -----------------------------------------------------------


class Outcome(enum.Enum):
    SENT = "sent"
    FAILED = "failed"
    RETRY = "retry"
    SKIPPED = "skipped"


@dataclass
class DeliveryResult:
    outcome: Outcome
    retry_in: float | None = None
    notification_id: int | None = None


def backoff_seconds(attempts: int) -> float:
    """Exponential backoff with jitter: ~30 s, 1 min, 2 min ... capped at 1 hour."""
    base = settings.NOTIFICATION_RETRY_BACKOFF_SECONDS
    ceiling = min(base * 2 ** max(attempts - 1, 0), 3600)
    return random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not security


def _finish(notification: Notification, **fields) -> None:
    """Record a failed attempt on the row it claimed.

    Only a row still in "sending" takes the new state: a tracking webhook may have
    reported what became of it meanwhile, and that later truth is kept.
    """
    fields["state_changed_at"] = timezone.now()
    Notification.objects.filter(pk=notification.pk, state=NotificationState.SENDING).update(
        **fields
    )


# Client errors that a later attempt can cure: timeout, conflict, too early, rate limit.
TEMPORARY_CLIENT_ERRORS = {408, 409, 425, 429}


def is_permanent(error: Exception) -> bool:
    """True when sending again cannot succeed: refused or invalid recipient, other 4xx."""
    if isinstance(error, AnymailRecipientsRefused | AnymailInvalidAddress):
        return True
    status = getattr(error, "status_code", None)
    return (
        isinstance(error, AnymailAPIError)
        and status is not None
        and 400 <= status < 500
        and status not in TEMPORARY_CLIENT_ERRORS
    )


def _provider_message_id(email: EmailMultiAlternatives) -> str:
    """The ESP's id for the message (tracking webhooks match on it); "" without Anymail."""
    status = getattr(email, "anymail_status", None)
    message_id = getattr(status, "message_id", None)
    return "" if message_id is None else str(message_id)[:255]


def _describe(error: Exception) -> str:
    try:
        text = str(error)
    except Exception:  # noqa: BLE001 - a badly built error must not lose the outcome
        text = repr(error)
    return f"{type(error).__name__}: {text}"[:2000]


def deliver(notification_id: int) -> DeliveryResult:
    """Send one queued notification, at most once (see the module docstring)."""
    results = deliver_many([notification_id])
    return results[0] if results else DeliveryResult(Outcome.SKIPPED)


def _record_failure(notification: Notification, error: Exception) -> DeliveryResult:
    """Retry later with backoff, or give up for good: the row says which, and why."""
    description = _describe(error)
    if is_permanent(error) or notification.attempts >= MAX_ATTEMPTS:
        logger.warning("Notification %s failed for good: %s", notification.pk, description)
        _finish(notification, state=NotificationState.FAILED, last_error=description)
        return DeliveryResult(Outcome.FAILED, notification_id=notification.pk)
    delay = backoff_seconds(notification.attempts)
    _finish(
        notification,
        state=NotificationState.QUEUED,
        last_error=description,
        next_attempt_at=timezone.now() + timedelta(seconds=delay),
    )
    return DeliveryResult(Outcome.RETRY, retry_in=delay, notification_id=notification.pk)


def _claim_many(notification_ids: Sequence[int]) -> list[Notification]:
    """Mark the rows that are to be sent now as "sending", under their row locks.

    Skipped: rows locked or being sent by another worker, and rows already sent or
    failed. Cancelled here, at the last moment, with `last_error` saying why: a reminder
    whose clock stopped (the customer replied, even a moment ago or during a broker
    outage), a service-level warning whose target was met, paused or stopped, a
    customer's email to someone who is no longer a customer of the case, and an
    optional email whose recipient turned it off (`preferences.not_sent_reasons`). A
    row left in "sending" by a worker that died mid-send is claimed again and flagged
    as a possible duplicate: the provider may have it already.
    """
    now = timezone.now()
    due: list[Notification] = []
    claimed: list[Notification] = []
    stale: list[int] = []
    cancelled: list[Notification] = []
    with transaction.atomic():
        rows = (
            Notification.objects.select_for_update(skip_locked=True, of=("self",))
            # The recipient's membership: whether they may still read the case, and the
            # zone the email's times are shown in.
            .select_related(
                "case",
                "recipient__membership__organisation",
                "message",
                "event",
                "response_target",
            )
            .filter(pk__in=notification_ids)
            .order_by("pk")
        )
        for notification in rows:
            if notification.state == NotificationState.SENDING:
                if (
                    notification.last_attempt_at
                    and now - notification.last_attempt_at < stale_sending_after()
                ):
                    continue  # another worker is sending it right now
            elif notification.state != NotificationState.QUEUED:
                continue
            due.append(notification)
        refused = not_sent_reasons(due)
        for notification in due:
            reason = (
                obsolete_reason(notification)
                if is_obsolete(notification)
                else refused.get(notification.pk)
            )
            if reason:
                notification.state = NotificationState.CANCELLED
                notification.state_changed_at = now
                notification.last_error = reason
                cancelled.append(notification)
                continue
            if notification.state == NotificationState.SENDING:
                notification.possible_duplicate = True
                stale.append(notification.pk)
            notification.state = NotificationState.SENDING
            notification.attempts += 1
            notification.last_attempt_at = notification.state_changed_at = now
            claimed.append(notification)
        if claimed:
            Notification.objects.filter(pk__in=[n.pk for n in claimed]).update(
                state=NotificationState.SENDING,
                attempts=F("attempts") + 1,
                last_attempt_at=now,
                state_changed_at=now,
            )
        if stale:
            Notification.objects.filter(pk__in=stale).update(possible_duplicate=True)
        if cancelled:
            # One statement for the batch, each row with its own reason.
            Notification.objects.bulk_update(
                cancelled, ["state", "state_changed_at", "last_error"]
            )
    return claimed


def deliver_many(notification_ids: Sequence[int]) -> list[DeliveryResult]:
    """Send a batch: one transaction claims every row, one records every send.

    Two durable commits per email bound a worker to a few hundred emails a second at
    best; a batch needs two in all. A worker killed mid-batch leaves the rows it sent
    but did not record in "sending", as a single delivery would: the relay sends them
    again after `stale_sending_after()`, flagged as possible duplicates. Keep batches small.
    """
    results: list[DeliveryResult] = []
    sent: list[tuple[int, str]] = []
    for notification in _claim_many(notification_ids):
        try:
            email = build_email(notification)
            email.send()
        except Exception as error:  # noqa: BLE001 - every failure is recorded on the row
            results.append(_record_failure(notification, error))
            continue
        sent.append((notification.pk, _provider_message_id(email)))
        results.append(DeliveryResult(Outcome.SENT, notification_id=notification.pk))
    if sent:
        now = timezone.now()
        with transaction.atomic():
            ids = [pk for pk, _ in sent]
            # A state a tracking webhook reported meanwhile (delivered, bounced) is kept.
            Notification.objects.filter(pk__in=ids, state=NotificationState.SENDING).update(
                state=NotificationState.SENT, state_changed_at=now, last_error=""
            )
            Notification.objects.filter(pk__in=ids).update(sent_at=now)
            # Only the provider's id differs from row to row.
            Notification.objects.bulk_update(
                [
                    Notification(pk=pk, provider_message_id=message_id)
                    for pk, message_id in sent
                    if message_id
                ],
                ["provider_message_id"],
            )
    return results


def relay_unsent(*, limit: int = 1000) -> int:
    """Re-enqueue notifications whose task was lost (broker down, worker killed)."""
    now = timezone.now()
    due = Notification.objects.filter(
        state=NotificationState.QUEUED, next_attempt_at__lte=now - relay_grace()
    ).values_list("pk", flat=True)[:limit]
    stale = Notification.objects.filter(
        state=NotificationState.SENDING, last_attempt_at__lte=now - stale_sending_after()
    ).values_list("pk", flat=True)[:limit]
    ids = sorted({*due, *stale})
    for notification_id in ids:
        enqueue(notification_id)
    return len(ids)
