"""The email each outbox row becomes: subject, text and HTML bodies, links and dates."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from cases.models import (
    OPEN_STATUSES,
    Case,
    Coverage,
    Message,
    Notification,
    NotificationKind,
    Priority,
    Status,
)
from cases.outbox import preferences
from cases.outbox.addresses import message_id_for, reply_address
from cases.outbox.triggers import DIGEST_MAX_ROWS, ENGINEER_KINDS
from cases.policy import pending_customer_timeout, resolved_timeout

logger = logging.getLogger(__name__)


def digest_context(notification: Notification) -> dict:
    """The cases as they are when the digest is sent: unassigned, then the engineer's."""
    day = date.fromisoformat(notification.dedupe_key.split(":")[1])
    unassigned = Case.objects.filter(status=Status.NEW, assignee__isnull=True).order_by(
        "priority", "created_at"
    )
    mine = Case.objects.filter(
        status__in=OPEN_STATUSES, assignee_id=notification.recipient_id
    ).order_by("priority", "-last_activity_at")
    change_url = reverse("admin:cases_case_change", args=[0]).replace("/0/", "/{}/")

    def rows(cases) -> list[dict]:
        return [
            {"case": case, "url": settings.SITE_URL + change_url.format(case.pk)}
            for case in cases[:DIGEST_MAX_ROWS]
        ]

    return {
        "day": day,
        "unassigned": rows(unassigned),
        "unassigned_count": unassigned.count(),
        "mine": rows(mine),
        "mine_count": mine.count(),
    }


def build_email(notification: Notification) -> EmailMultiAlternatives:
    """The email as its recipient reads it: every time in their own zone
    (`User.shown_zone`); in the portal's for an address that is nobody's login."""
    recipient = notification.recipient
    with timezone.override(recipient.shown_zone if recipient is not None else None):
        return _build_email(notification)


def _build_email(notification: Notification) -> EmailMultiAlternatives:
    case = notification.case
    context = email_context(notification)
    template = f"cases/email/{notification.kind}"
    headers = {"Message-ID": message_id_for(notification), "Auto-Submitted": "auto-generated"}
    if case is not None:
        headers["X-Case-Reference"] = case.reference
    if context.get("unsubscribe_url"):
        # Optional emails only: essential ones cannot be turned off.
        headers.update(preferences.unsubscribe_headers(context["unsubscribe_url"]))
    email = EmailMultiAlternatives(
        subject=notification.subject,
        body=render_to_string(f"{template}.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[notification.to_email],
        # Replying is a path only about one case and from a known person.
        reply_to=[context["reply_address"]] if context["reply_address"] else None,
        headers=headers,
    )
    email.attach_alternative(render_to_string(f"{template}.html", context), "text/html")
    # Anymail: the row id travels with the message (tracking webhooks report it back).
    email.metadata = {"notification_id": str(notification.pk)}
    if case is not None:
        email.metadata["case"] = case.reference
    email.tags = [notification.kind]
    return email


def email_context(notification: Notification) -> dict:
    from cases import email_actions

    case = notification.case
    recipient = notification.recipient
    for_engineer = notification.kind in ENGINEER_KINDS
    context = {
        "case": case,
        "recipient": recipient,
        "for_engineer": for_engineer,
        "message": notification.message,
        "event": notification.event,
        "help_url": f"{settings.SITE_URL}{reverse('help:case_statuses')}",
        "admin_url": f"{settings.SITE_URL}{reverse('admin:cases_case_changelist')}",
        "pending_days": settings.CASE_PENDING_CUSTOMER_AUTO_CLOSE_DAYS,
        "resolved_days": settings.CASE_RESOLVED_AUTO_CLOSE_DAYS,
        "reply_address": reply_address(case, recipient) if case and recipient else "",
        "reply_to_closed": settings.CASE_EMAIL_REPLY_TO_CLOSED,
        # The footer of an optional email: why it is sent, how to stop it.
        **preferences.optional_email_context(notification),
    }
    if notification.kind == NotificationKind.DAILY_DIGEST:
        context.update(digest_context(notification))
        return context
    path = (
        reverse("admin:cases_case_change", args=[case.pk])
        if for_engineer
        else case.get_absolute_url()
    )
    context["case_url"] = f"{settings.SITE_URL}{path}"
    context["auto_close_at"] = closes_at(notification)
    if notification.kind == NotificationKind.REMINDER:
        context["reminder_days"] = notification.reminder_days_before
        context["question"] = _current_question(case)
    if notification.kind in SERVICE_LEVEL_KINDS:
        context.update(service_level_context(notification))
    if notification.kind == NotificationKind.RESOLVED and notification.event_id and recipient:
        for action in (email_actions.CONFIRM, email_actions.REOPEN):
            context[f"{action}_url"] = email_actions.url_for(
                case=case, recipient=recipient, action=action, event_id=notification.event_id
            )
    return context


SERVICE_LEVEL_KINDS = frozenset(
    {NotificationKind.SERVICE_LEVEL_WARNING, NotificationKind.SERVICE_LEVEL_BREACHED}
)


def service_level_context(notification: Notification) -> dict:
    """The target a warning or escalation is about: its terms, when it is (or was) due
    and how long is left, or how long ago that was, when the email is sent."""
    target = notification.response_target
    if target is None:
        return {"target": None}
    # A breached target keeps its due time in breached_at after a late reply ends it.
    due = target.breached_at or target.due_at
    left = due - timezone.now() if due else None
    return {
        "target": target,
        "target_running": target.outcome == "running",
        "target_terms": f"{target.plan.name} plan, {Priority(target.priority).label}",
        "target_length": span_text(target.target),
        "target_coverage": Coverage(target.coverage).label,
        "target_due": due,
        "target_overdue": left is not None and left <= timedelta(0),
        "target_left": span_text(abs(left)) if left is not None else "",
    }


def span_text(span: timedelta) -> str:
    """`45 minutes`, `1 hour 30 minutes`, `2 days 3 hours` (whole minutes, rounded down)."""
    minutes = int(span.total_seconds() // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    # With days, minutes are noise: "2 days 3 hours" is precise enough.
    units = ((days, "day"), (hours, "hour")) if days else ((hours, "hour"), (minutes, "minute"))
    parts = [f"{count} {unit}{'s' if count != 1 else ''}" for count, unit in units if count]
    return " ".join(parts) or "less than a minute"


def _current_question(case: Case) -> Message | None:
    """The engineer's question the running Pending Customer clock waits on."""
    from cases.selectors import case_open_question

    return case_open_question(case=case)


def closes_at(notification: Notification) -> datetime | None:
    """The closing date the email announces, as it was when the email was queued.

    Taken from the event that started the clock, not from the case now: an email sent
    late (retries, a broker outage) still states the date the customer was promised.
    """
    event = notification.event
    if notification.kind == NotificationKind.PENDING_CUSTOMER and event is not None:
        return event.created_at + pending_customer_timeout()
    if notification.kind == NotificationKind.RESOLVED and event is not None:
        return event.created_at + resolved_timeout()
    return notification.case.auto_close_at if notification.case else None
