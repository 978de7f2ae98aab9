"""Delivery tracking, through Anymail's tracking webhook (`/anymail/<esp>/tracking/`).

Each event updates the delivery state of the notification it reports on, found by the
`notification_id` we put in the message's metadata or by the provider's message id. A
Pending Customer question that bounced holds the case's clock: the customer never saw
the question, so the case must not close "for lack of a reply" without an engineer
knowing why.
"""

from __future__ import annotations

import logging

from anymail.signals import EventType
from django.db import transaction
from django.utils import timezone

from cases import services
from cases.models import Notification, NotificationKind, NotificationState, Status

logger = logging.getLogger(__name__)

STATE_FOR_EVENT = {
    EventType.DELIVERED: NotificationState.DELIVERED,
    EventType.BOUNCED: NotificationState.BOUNCED,
    EventType.COMPLAINED: NotificationState.COMPLAINED,
    EventType.REJECTED: NotificationState.REJECTED,
}
# Webhooks arrive out of order: a late "delivered" must not hide a bounce, and a
# complaint (the recipient had it) outranks everything.
RANK = {
    NotificationState.QUEUED: 0,
    NotificationState.SENDING: 0,
    NotificationState.SENT: 1,
    NotificationState.FAILED: 1,
    NotificationState.DELIVERED: 2,
    NotificationState.BOUNCED: 3,
    NotificationState.REJECTED: 3,
    NotificationState.COMPLAINED: 4,
}
UNDELIVERED = (NotificationState.BOUNCED, NotificationState.REJECTED)
QUESTION_KINDS = (NotificationKind.PENDING_CUSTOMER, NotificationKind.REMINDER)


def on_tracking(sender, event, esp_name: str, **kwargs) -> None:
    record_delivery_event(event=event, esp_name=esp_name)


def _find(event) -> Notification | None:
    notifications = Notification.objects.select_for_update(of=("self",)).select_related("case")
    metadata = event.metadata or {}
    notification_id = str(metadata.get("notification_id", "")).strip()
    if notification_id.isascii() and notification_id.isdigit() and len(notification_id) <= 18:
        found = notifications.filter(pk=int(notification_id)).first()
        if found is not None:
            return found
    message_id = (event.message_id or "").strip()
    if message_id:
        candidates = {message_id, message_id.strip("<>"), f"<{message_id.strip('<>')}>"}
        return notifications.filter(provider_message_id__in=candidates).first()
    return None


@transaction.atomic
def record_delivery_event(*, event, esp_name: str) -> Notification | None:
    """Apply one tracking event; returns the notification it concerned, if ours.

    Idempotent: the same event twice, or an older one after a newer, changes nothing.
    """
    state = STATE_FOR_EVENT.get(event.event_type)
    if state is None:
        return None
    notification = _find(event)
    if notification is None:
        logger.info(
            "%s %s event for an unknown message %s", esp_name, event.event_type, event.message_id
        )
        return None
    if RANK[state] > RANK.get(notification.state, 0):
        notification.state = state
        notification.state_changed_at = timezone.now()
        fields = ["state", "state_changed_at"]
        if state != NotificationState.DELIVERED:
            detail = event.mta_response or event.description or event.reject_reason or ""
            notification.last_error = f"{esp_name}: {state.label}: {detail}".strip(": ")[:2000]
            fields.append("last_error")
        notification.save(update_fields=fields)
    if notification.state in UNDELIVERED and notification.kind in QUESTION_KINDS:
        _hold_if_current_question(notification)
    return notification


def _hold_if_current_question(notification: Notification) -> None:
    case = notification.case
    # Only the question of the running clock: an old one from an earlier round of
    # Pending Customer says nothing about this one.
    if (
        case.status != Status.PENDING_CUSTOMER
        or case.pending_since is None
        or notification.created_at < case.pending_since
    ):
        return
    verb = "bounced" if notification.state == NotificationState.BOUNCED else "was rejected"
    services.case_hold_auto_close(
        case=case,
        reason=(
            f"Not closing automatically: our {notification.get_kind_display().lower()} email to "
            f"{notification.to_email} {verb}. Reach the customer another way."
        ),
    )
