"""The outbox: which emails a change causes, and how one is delivered exactly once.

`queue()` runs inside the transaction of the change (so a rollback queues nothing) and
hands the row to a worker after commit. `deliver()` claims a row under its lock before
sending and records the outcome, so a task that runs twice, a relay that re-enqueues a
lost task, or a worker killed mid-send never sends an email that is already sent.
"""

from __future__ import annotations

import enum
import hashlib
import logging
import random
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from anymail.exceptions import AnymailAPIError, AnymailInvalidAddress, AnymailRecipientsRefused
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.db.models import Count, F
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from cases.models import (
    OPEN_STATUSES,
    Case,
    CaseEvent,
    Message,
    Notification,
    NotificationKind,
    NotificationState,
    Priority,
    Status,
)
from cases.policy import pending_customer_timeout, resolved_timeout

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
# A row left in "sending" this long belongs to a worker that died mid-send.
STALE_SENDING_AFTER = timedelta(seconds=settings.NOTIFICATION_STALE_SENDING_SECONDS)
# Fresh rows are normally being sent by their own task; the relay leaves them alone.
RELAY_GRACE = timedelta(seconds=settings.NOTIFICATION_RELAY_GRACE_SECONDS)
# Emails one task sends with deliver_many(): what a killed worker may leave to resend.
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
    NotificationKind.NEW_CASE_ALERT: "[{ref}] New {priority} case: {subject}",
    NotificationKind.THANKS_RECEIVED: "[{ref}] Thanks received, case stays resolved: {subject}",
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
    }
)


# --- Reply addresses ------------------------------------------------------------------

REPLY_LOCAL_PART = re.compile(r"^case\.(\d+)\.(\d+)\.([0-9a-f]{20})$")


def _reply_signature(case_id: int, user_id: int) -> str:
    return salted_hmac(
        "cases.reply-address", f"{case_id}:{user_id}", algorithm="sha256"
    ).hexdigest()[:20]


def reply_address(case: Case, recipient) -> str:
    """An unguessable Reply-To per case and recipient: replies route back to the case."""
    signature = _reply_signature(case.pk, recipient.pk)
    return f"case.{case.pk}.{recipient.pk}.{signature}@{settings.REPLY_DOMAIN}"


def parse_reply_address(address: str) -> tuple[int, int] | None:
    """(case id, user id) for a genuine reply address, else None."""
    local, _, domain = address.strip().lower().rpartition("@")
    if domain != settings.REPLY_DOMAIN.lower():
        return None
    match = REPLY_LOCAL_PART.match(local)
    if not match:
        return None
    case_id, user_id, signature = int(match[1]), int(match[2]), match[3]
    if not constant_time_compare(signature, _reply_signature(case_id, user_id)):
        return None
    return case_id, user_id


def message_id_for(notification: Notification) -> str:
    """Our own Message-ID: inbound replies and loops are recognised by it."""
    domain = settings.REPLY_DOMAIN
    digest = hashlib.sha256(f"{notification.pk}:{settings.SECRET_KEY}".encode()).hexdigest()[:12]
    return f"<notification.{notification.pk}.{digest}@{domain}>"


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
            )
    except IntegrityError:
        return None
    transaction.on_commit(lambda: enqueue(notification.pk), robust=True)
    return notification


def _reminder_key(case: Case, *, days_before: int) -> str:
    # One reminder per clock start and threshold: a new request for information
    # starts a new clock and earns its own reminders.
    clock = f"{case.pending_since.timestamp():.6f}"
    return f"reminder:{case.pk}:{clock}:{days_before}:{case.requester_id}"


def _parse_reminder_key(key: str) -> tuple[float, int]:
    """(clock start timestamp, days before) of a reminder's dedupe key."""
    _, _, pending_since, days_before, _ = key.split(":")
    return float(pending_since), int(days_before)


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


def queue_new_case_alert(case: Case, *, event: CaseEvent) -> int:
    """Alert the engineers to a new urgent case: ONCALL_EMAIL if set, else each engineer.

    ONCALL_EMAIL gets a reply address when it is an engineer's own login; a shared
    on-call mailbox is nobody's, so its email says that replies are not read.
    """
    if settings.ONCALL_EMAIL:
        oncall = engineers().filter(email__iexact=settings.ONCALL_EMAIL).first()
        queued = queue(
            case,
            NotificationKind.NEW_CASE_ALERT,
            recipient=oncall,
            event=event,
            to_email=settings.ONCALL_EMAIL,
        )
        return int(queued is not None)
    return sum(
        queue(case, NotificationKind.NEW_CASE_ALERT, recipient=engineer, event=event) is not None
        for engineer in engineers()
    )


def _digest_key(day, engineer) -> str:
    return f"digest:{day.isoformat()}:{engineer.pk}"


def queue_daily_digests(*, day) -> int:
    """One digest per engineer with open cases assigned to them, or while any case waits
    unassigned; nothing when there is nothing. Unique per engineer and day."""
    unassigned = Case.objects.filter(status=Status.NEW, assignee__isnull=True).count()
    assigned = dict(
        Case.objects.filter(status__in=OPEN_STATUSES, assignee__isnull=False)
        .values_list("assignee_id")
        .annotate(n=Count("pk"))
        .values_list("assignee_id", "n")
    )
    queued = 0
    for engineer in engineers():
        mine = assigned.get(engineer.pk, 0)
        if not (mine or unassigned):
            continue
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


def queue_reminder(case: Case, *, days_before: int) -> bool:
    key = _reminder_key(case, days_before=days_before)
    return (
        queue(case, NotificationKind.REMINDER, recipient=case.requester, dedupe_key=key)
        is not None
    )


def is_obsolete(notification: Notification) -> bool:
    """A reminder whose clock has stopped (the customer replied, the case moved on), or
    a "stays resolved" email for a case no longer resolved."""
    if notification.kind == NotificationKind.THANKS_RECEIVED:
        return notification.case.status != Status.RESOLVED
    if notification.kind != NotificationKind.REMINDER:
        return False
    case = notification.case
    pending_since, _ = _parse_reminder_key(notification.dedupe_key)
    return not (
        case.status == Status.PENDING_CUSTOMER
        and case.pending_since is not None
        and f"{case.pending_since.timestamp():.6f}" == f"{pending_since:.6f}"
    )


def enqueue(notification_id: int) -> None:
    """Ask a worker to send it. If the broker is down, the relay sweep sends it later."""
    from cases.tasks import send_notification

    try:
        send_notification.delay(notification_id)
    except Exception:  # noqa: BLE001 - the outbox row is safe; the relay retries
        logger.warning("Broker unavailable; notification %s left to the relay", notification_id)


def enqueue_many(notification_ids: list[int]) -> None:
    """Hand a batch to the workers in one broker message per 100 rows (see deliver_many).
    Publishing thousands of messages one by one would dominate the sweep."""
    from cases.tasks import send_notifications_task

    try:
        for start in range(0, len(notification_ids), SEND_BATCH_SIZE):
            send_notifications_task.delay(list(notification_ids[start : start + SEND_BATCH_SIZE]))
    except Exception:  # noqa: BLE001 - the outbox rows are safe; the relay retries
        logger.warning(
            "Broker unavailable; %s notifications left to the relay", len(notification_ids)
        )


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


def _claim(notification_id: int) -> Notification | None:
    """Claim one row for sending (see `_claim_many()`), or None when it is not to be sent."""
    claimed = _claim_many([notification_id])
    return claimed[0] if claimed else None


def build_email(notification: Notification) -> EmailMultiAlternatives:
    case = notification.case
    context = email_context(notification)
    template = f"cases/email/{notification.kind}"
    headers = {"Message-ID": message_id_for(notification), "Auto-Submitted": "auto-generated"}
    if case is not None:
        headers["X-Case-Reference"] = case.reference
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
        _, context["reminder_days"] = _parse_reminder_key(notification.dedupe_key)
        context["question"] = _current_question(case)
    if notification.kind == NotificationKind.RESOLVED and notification.event_id and recipient:
        for action in (email_actions.CONFIRM, email_actions.REOPEN):
            context[f"{action}_url"] = email_actions.url_for(
                case=case, recipient=recipient, action=action, event_id=notification.event_id
            )
    return context


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
    failed. A reminder whose clock stopped (the customer replied, even a moment ago or
    during a broker outage) is cancelled here, at the last moment. A row left in
    "sending" by a worker that died mid-send is claimed again and flagged as a possible
    duplicate: the provider may have it already.
    """
    now = timezone.now()
    claimed: list[Notification] = []
    stale: list[int] = []
    obsolete: list[int] = []
    with transaction.atomic():
        rows = (
            Notification.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("case", "recipient", "message", "event")
            .filter(pk__in=notification_ids)
            .order_by("pk")
        )
        for notification in rows:
            was_sending = notification.state == NotificationState.SENDING
            if was_sending:
                if (
                    notification.last_attempt_at
                    and now - notification.last_attempt_at < STALE_SENDING_AFTER
                ):
                    continue  # another worker is sending it right now
            elif notification.state != NotificationState.QUEUED:
                continue
            if is_obsolete(notification):
                obsolete.append(notification.pk)
                continue
            if was_sending:
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
        if obsolete:
            Notification.objects.filter(pk__in=obsolete).update(
                state=NotificationState.CANCELLED,
                state_changed_at=now,
                last_error="Not sent: the case no longer awaits the customer.",
            )
    return claimed


def deliver_many(notification_ids: Sequence[int]) -> list[DeliveryResult]:
    """Send a batch: one transaction claims every row, one records every send.

    Two durable commits per email bound a worker to a few hundred emails a second at
    best; a batch needs two in all. A worker killed mid-batch leaves the rows it sent
    but did not record in "sending", as a single delivery would: the relay sends them
    again after STALE_SENDING_AFTER, flagged as possible duplicates. Keep batches small.
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
        state=NotificationState.QUEUED, next_attempt_at__lte=now - RELAY_GRACE
    ).values_list("pk", flat=True)[:limit]
    stale = Notification.objects.filter(
        state=NotificationState.SENDING, last_attempt_at__lte=now - STALE_SENDING_AFTER
    ).values_list("pk", flat=True)[:limit]
    ids = sorted({*due, *stale})
    for notification_id in ids:
        enqueue(notification_id)
    return len(ids)
