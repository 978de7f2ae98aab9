"""Which emails are optional, and which queued ones must not go out any more.

An email is optional when it belongs to an `EmailTopic` (`topic_of`); every other email
is essential and always sent. Both checks run when a row is sent, not when it is
queued: a preference changed, or access lost, after queueing wins.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.utils import timezone

from cases.models import Notification, NotificationKind
from cases.outbox.triggers import ENGINEER_KINDS
from portal import email_preferences, timefmt
from portal.models import EmailOptOut, EmailTopic


def topic_of(notification: Notification) -> EmailTopic | None:
    """The topic an email can be turned off under; None for an essential email.

    An engineer's reply is essential to the case's requester and optional to the
    colleagues it is shared with.
    """
    kind = notification.kind
    if kind == NotificationKind.REMINDER:
        return EmailTopic.REMINDERS
    if kind == NotificationKind.DAILY_DIGEST:
        return EmailTopic.DAILY_DIGEST
    if (
        kind == NotificationKind.ENGINEER_REPLY
        and notification.case is not None
        and notification.recipient_id is not None
        and notification.recipient_id != notification.case.requester_id
    ):
        return EmailTopic.SHARED_CASE_UPDATES
    return None


def why_sent(notification: Notification, topic: EmailTopic) -> str:
    """The footer's "You get this email because …" of an optional email."""
    case = notification.case
    if topic == EmailTopic.REMINDERS:
        return f"case {case.reference} is waiting for your reply and reminders are on for you"
    if topic == EmailTopic.SHARED_CASE_UPDATES:
        return (
            f"case {case.reference} is shared with you and updates on shared cases are on for you"
        )
    return "you are a support engineer and the daily digest is on for you"


def optional_email_context(notification: Notification) -> dict:
    """What an optional email adds to its footer and headers; {} for an essential one."""
    topic = topic_of(notification)
    recipient = notification.recipient
    if topic is None or recipient is None:
        return {}
    return {
        "email_topic": topic,
        "why_sent": why_sent(notification, topic),
        "unsubscribe_url": email_preferences.unsubscribe_url(recipient, topic),
        "profile_url": email_preferences.profile_url(),
    }


def unsubscribe_headers(unsubscribe_url: str) -> dict[str, str]:
    """RFC 8058 one-click unsubscribe: mail clients POST `List-Unsubscribe=One-Click`."""
    return {
        "List-Unsubscribe": f"<{unsubscribe_url}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def not_sent_reasons(notifications: Iterable[Notification]) -> dict[int, str]:
    """Why each of these rows must not be sent now, by row id (rows absent: send them).

    A customer's email whose recipient is no longer a customer of the case (deactivated,
    left the organisation, taken off the case); an optional email whose recipient
    turned its topic off. One query for the opt-outs of the whole batch; the rows come
    with their case and recipient (and the recipient's membership) loaded.
    """
    rows = list(notifications)
    optional = {
        row.pk: topic
        for row in rows
        if row.recipient_id is not None and (topic := topic_of(row)) is not None
    }
    opt_outs: dict[tuple[int, str], EmailOptOut] = {}
    if optional:
        recipient_ids = {row.recipient_id for row in rows if row.pk in optional}
        opt_outs = {
            (opt_out.user_id, opt_out.topic): opt_out
            for opt_out in EmailOptOut.objects.filter(
                user_id__in=recipient_ids, topic__in=set(optional.values())
            )
        }
    reasons: dict[int, str] = {}
    for row in rows:
        if (
            row.kind not in ENGINEER_KINDS
            and row.case is not None
            and row.recipient is not None
            and not row.case.is_customer(row.recipient)
        ):
            reasons[row.pk] = f"Not sent: {row.to_email} no longer has access to this case."
            continue
        topic = optional.get(row.pk)
        opt_out = opt_outs.get((row.recipient_id, topic)) if topic else None
        if opt_out is not None:
            reasons[row.pk] = (
                f"Not sent: {row.to_email} turned off {topic.label.lower()} on "
                # Read later by any engineer: the portal's zone, whoever sends it.
                f"{timefmt.display(opt_out.created_at, timezone.get_default_timezone())}."
            )
    return reasons
