"""What each change emails: outbox rows written inside the change's transaction, handed
to a worker after commit.

The outbox never imports the tasks that deliver it: it looks them up by their public
names (`cases.tasks.*`, the names beat and queued messages use), so the dependency
points from the tasks to the outbox only.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from celery import current_app
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count
from django.utils import timezone

from cases.models import (
    OPEN_STATUSES,
    Case,
    CaseEvent,
    Message,
    Notification,
    NotificationKind,
    Priority,
    ResponseTarget,
    Status,
    TargetOutcome,
)

logger = logging.getLogger(__name__)

SEND_BATCH_SIZE = 100
# A digest lists at most this many cases per section, then says how many more.
DIGEST_MAX_ROWS = 50

SUBJECTS = {
    NotificationKind.PENDING_CUSTOMER: "[{ref}] We need your input: {subject}",
    NotificationKind.REMINDER: "[{ref}] Reminder: we still need your input: {subject}",
    NotificationKind.RESOLVED: "[{ref}] Resolved: {subject}",
    NotificationKind.AUTO_CLOSED: "[{ref}] Closed automatically: {subject}",
    NotificationKind.REOPENED: "[{ref}] Reopened: {subject}",
    NotificationKind.ENGINEER_REPLY: "[{ref}] New reply: {subject}",
    NotificationKind.CUSTOMER_REPLIED: "[{ref}] Customer replied: {subject}",
    NotificationKind.CUSTOMER_REOPENED: "[{ref}] Customer reopened: {subject}",
    NotificationKind.CUSTOMER_RESOLVED: "[{ref}] Customer marked resolved: {subject}",
    NotificationKind.CUSTOMER_CONFIRMED: "[{ref}] Customer confirmed it worked: {subject}",
    NotificationKind.CUSTOMER_CLOSED: "[{ref}] Customer closed: {subject}",
    NotificationKind.CLOSED: "[{ref}] Closed: {subject}",
    NotificationKind.ENGINEER_AUTO_CLOSED: "[{ref}] Closed automatically: {subject}",
    NotificationKind.CASE_OPENED: "[{ref}] Case received: {subject}",
    NotificationKind.CASE_SHARED: "[{ref}] Shared with you: {subject}",
    NotificationKind.NEW_CASE_ALERT: "[{ref}] New {priority} case: {subject}",
    NotificationKind.THANKS_RECEIVED: "[{ref}] Thanks received, case stays resolved: {subject}",
    NotificationKind.SERVICE_LEVEL_WARNING: (
        "[{ref}] Response target at risk ({priority}): {subject}"
    ),
    NotificationKind.SERVICE_LEVEL_BREACHED: (
        "[{ref}] Response target missed ({priority}): {subject}"
    ),
}
DIGEST_SUBJECT = "Open cases on {day}: {assigned} yours, {unassigned} unassigned"

# Emails about a case written for engineers: their links go to the admin.
ENGINEER_KINDS = frozenset(
    {
        NotificationKind.CUSTOMER_REPLIED,
        NotificationKind.CUSTOMER_REOPENED,
        NotificationKind.CUSTOMER_RESOLVED,
        NotificationKind.CUSTOMER_CONFIRMED,
        NotificationKind.CUSTOMER_CLOSED,
        NotificationKind.ENGINEER_AUTO_CLOSED,
        NotificationKind.NEW_CASE_ALERT,
        NotificationKind.DAILY_DIGEST,
        NotificationKind.SERVICE_LEVEL_WARNING,
        NotificationKind.SERVICE_LEVEL_BREACHED,
    }
)


# --- Queueing (inside the change's transaction) --------------------------------------


def _subject(case: Case, kind: str) -> str:
    # A header: any line break in the case subject would make the email unsendable.
    subject = " ".join(case.subject.split())
    priority = Priority(case.priority).label
    return SUBJECTS[kind].format(ref=case.reference, subject=subject, priority=priority)[:300]


def queue(
    case: Case,
    kind: NotificationKind,
    *,
    recipient,
    event: CaseEvent | None = None,
    message: Message | None = None,
    dedupe_key: str | None = None,
    to_email: str | None = None,
    subject: str | None = None,
    clock_started_at=None,
    reminder_days_before: int | None = None,
) -> Notification | None:
    """Record an email to send and hand it to a worker once the transaction commits.

    Unique per event (or message) and recipient: queuing the same thing twice returns
    None and changes nothing. `recipient` is None only for an address that is nobody's
    login (`to_email`, e.g. ONCALL_EMAIL).
    """
    to_email = to_email or recipient.email
    if dedupe_key is None:
        anchor = f"event:{event.pk}" if event else f"message:{message.pk}" if message else None
        if anchor is None:
            raise ValueError("A notification belongs to an event, a message or a dedupe key.")
        who = recipient.pk if recipient is not None else to_email.lower()
        dedupe_key = f"{anchor}:{kind}:{who}"[:200]
    try:
        with transaction.atomic():
            notification = Notification.objects.create(
                case=case,
                event=event,
                message=message,
                kind=kind,
                recipient=recipient,
                to_email=to_email,
                subject=subject or _subject(case, kind),
                dedupe_key=dedupe_key,
                clock_started_at=clock_started_at,
                reminder_days_before=reminder_days_before,
            )
    except IntegrityError:
        return None
    transaction.on_commit(lambda: enqueue(notification.pk), robust=True)
    return notification


def _reminder_key(case: Case, *, days_before: int, recipient) -> str:
    # Uniqueness only (the clock and threshold are columns): one reminder per clock
    # start, threshold and recipient; a new request for information earns its own.
    clock = f"{case.pending_since.timestamp():.6f}"
    return f"reminder:{case.pk}:{clock}:{days_before}:{recipient.pk}"


def queue_many(items: Iterable[tuple[Case, NotificationKind, CaseEvent, object]]) -> list:
    """`queue()` for a batch of fresh events (the sweep): one insert, one hand-over after commit.

    Each item is (case, kind, event, recipient). The events were just created, so no
    dedupe key can exist yet.
    """
    rows = [
        Notification(
            case=case,
            event=event,
            kind=kind,
            recipient=recipient,
            to_email=recipient.email,
            subject=_subject(case, kind),
            dedupe_key=f"event:{event.pk}:{kind}:{recipient.pk}",
        )
        for case, kind, event, recipient in items
    ]
    created = Notification.objects.bulk_create(rows)
    ids = [notification.pk for notification in created]
    if ids:
        transaction.on_commit(lambda: enqueue_many(ids), robust=True)
    return created


def engineers():
    """Active members of the support engineers' group."""
    from django.contrib.auth import get_user_model

    from portal.models import SUPPORT_ENGINEERS_GROUP

    return (
        get_user_model()
        .objects.filter(is_active=True, is_staff=True, groups__name=SUPPORT_ENGINEERS_GROUP)
        .distinct()
        .order_by("pk")
    )


def oncall_recipients() -> list[tuple[object, str]]:
    """Who the on-call alerts go to, as (login or None, address): ONCALL_EMAIL if set
    (with the engineer whose login it is, if any), else every active engineer."""
    if settings.ONCALL_EMAIL:
        oncall = engineers().filter(email__iexact=settings.ONCALL_EMAIL).first()
        return [(oncall, settings.ONCALL_EMAIL)]
    return [(engineer, engineer.email) for engineer in engineers()]


def queue_new_case_alert(case: Case, *, event: CaseEvent) -> int:
    """Alert the engineers to a new urgent case: ONCALL_EMAIL if set, else each engineer.

    ONCALL_EMAIL gets a reply address when it is an engineer's own login; a shared
    on-call mailbox is nobody's, so its email says that replies are not read.
    """
    return sum(
        queue(
            case,
            NotificationKind.NEW_CASE_ALERT,
            recipient=recipient,
            event=event,
            to_email=address,
        )
        is not None
        for recipient, address in oncall_recipients()
    )


SERVICE_LEVEL_KEYS = {
    NotificationKind.SERVICE_LEVEL_WARNING: "sla-warning",
    NotificationKind.SERVICE_LEVEL_BREACHED: "sla-breach",
}


def service_level_key(target: ResponseTarget, kind: str, recipient, address: str) -> str:
    """One warning and one escalation per target and recipient, whoever queues them."""
    who = recipient.pk if recipient is not None else address.lower()
    return f"{SERVICE_LEVEL_KEYS[kind]}:{target.pk}:{who}"[:200]


def queue_service_level_alerts(
    items: Iterable[tuple[ResponseTarget, NotificationKind, CaseEvent | None, list]],
) -> list[Notification]:
    """Queue the service-level warnings and escalations of one batch: one insert, one
    hand-over after commit.

    Each item is (target, kind, event or None, [(login or None, address), ...]), the
    target's case loaded. A key already queued (a recipient listed twice, say the
    assignee who is also ONCALL_EMAIL) is skipped, so nothing goes out twice; the
    caller holds the targets' row locks, so no other run can insert the same keys
    meanwhile.
    """
    rows: dict[str, Notification] = {}
    for target, kind, event, recipients in items:
        case = target.case
        for recipient, address in recipients:
            key = service_level_key(target, kind, recipient, address)
            rows.setdefault(
                key,
                Notification(
                    case=case,
                    event=event,
                    response_target=target,
                    kind=kind,
                    recipient=recipient,
                    to_email=address,
                    subject=_subject(case, kind),
                    dedupe_key=key,
                ),
            )
    if not rows:
        return []
    queued = set(
        Notification.objects.filter(dedupe_key__in=list(rows)).values_list("dedupe_key", flat=True)
    )
    created = Notification.objects.bulk_create(
        [row for key, row in rows.items() if key not in queued]
    )
    ids = [notification.pk for notification in created]
    if ids:
        transaction.on_commit(lambda: enqueue_many(ids), robust=True)
    return created


def _digest_key(day, engineer) -> str:
    return f"digest:{day.isoformat()}:{engineer.pk}"


def queue_daily_digests(*, now) -> int:
    """One digest per engineer with open cases assigned to them, or while any case waits
    unassigned; nothing when there is nothing. Unique per engineer and day: the day
    `now` is where that engineer is (`User.shown_zone`), which their subject names."""
    unassigned = Case.objects.filter(status=Status.NEW, assignee__isnull=True).count()
    assigned = dict(
        Case.objects.filter(status__in=OPEN_STATUSES, assignee__isnull=False)
        .values_list("assignee_id")
        .annotate(n=Count("pk"))
        .values_list("assignee_id", "n")
    )
    queued = 0
    for engineer in engineers().select_related("membership__organisation"):
        mine = assigned.get(engineer.pk, 0)
        if not (mine or unassigned):
            continue
        day = timezone.localtime(now, engineer.shown_zone).date()
        subject = DIGEST_SUBJECT.format(
            day=f"{day.day} {day:%B %Y}", assigned=mine, unassigned=unassigned
        )
        queued += (
            queue(
                None,
                NotificationKind.DAILY_DIGEST,
                recipient=engineer,
                dedupe_key=_digest_key(day, engineer),
                subject=subject,
            )
            is not None
        )
    return queued


def queue_reminder(case: Case, *, days_before: int, recipient) -> bool:
    """The reminder `days_before` the case closes by itself, to one of its customers."""
    key = _reminder_key(case, days_before=days_before, recipient=recipient)
    return (
        queue(
            case,
            NotificationKind.REMINDER,
            recipient=recipient,
            dedupe_key=key,
            clock_started_at=case.pending_since,
            reminder_days_before=days_before,
        )
        is not None
    )


def is_obsolete(notification: Notification) -> bool:
    """A reminder whose clock has stopped (the customer replied, the case moved on), a
    "stays resolved" email for a case no longer resolved, or a warning about a target
    that is no longer running (met, paused or stopped since)."""
    if notification.kind == NotificationKind.SERVICE_LEVEL_WARNING:
        target = notification.response_target
        return target is not None and target.outcome != TargetOutcome.RUNNING
    if notification.kind == NotificationKind.THANKS_RECEIVED:
        return notification.case.status != Status.RESOLVED
    if notification.kind != NotificationKind.REMINDER:
        return False
    case = notification.case
    return not (
        case.status == Status.PENDING_CUSTOMER
        and case.pending_since is not None
        and case.pending_since == notification.clock_started_at
    )


def obsolete_reason(notification: Notification) -> str:
    """What the outbox row says when an obsolete email is cancelled (see is_obsolete)."""
    if notification.kind == NotificationKind.SERVICE_LEVEL_WARNING:
        return "Not sent: the response target is no longer running."
    return "Not sent: the case no longer awaits the customer."


def _task(name: str):
    """The Celery task registered under `name` (`cases.tasks`, imported by the app's ready())."""
    return current_app.tasks[name]


def enqueue(notification_id: int) -> None:
    """Ask a worker to send it. If the broker is down, the relay sweep sends it later."""
    try:
        _task("cases.tasks.send_notification").delay(notification_id)
    except Exception:  # noqa: BLE001 - the outbox row is safe; the relay retries
        logger.warning("Broker unavailable; notification %s left to the relay", notification_id)


def enqueue_many(notification_ids: list[int]) -> None:
    """Hand a batch to the workers in one broker message per 100 rows (see deliver_many).
    Publishing thousands of messages one by one would dominate the sweep."""
    send_batch = _task("cases.tasks.send_notifications_task")
    try:
        for start in range(0, len(notification_ids), SEND_BATCH_SIZE):
            send_batch.delay(list(notification_ids[start : start + SEND_BATCH_SIZE]))
    except Exception:  # noqa: BLE001 - the outbox rows are safe; the relay retries
        logger.warning(
            "Broker unavailable; %s notifications left to the relay", len(notification_ids)
        )
