"""Reminders before a Pending Customer case closes itself: 7 and 1 day before by default."""

import re
from datetime import UTC, datetime, timedelta

import pytest

from cases import outbox, services
from cases.models import InfoRequestKind, Notification, NotificationKind, NotificationState
from cases.tasks import send_reminders_task
from tests.factories import CaseFactory, days

pytestmark = pytest.mark.django_db

ASKED = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)


@pytest.fixture
def pending_case(time_machine, django_capture_on_commit_callbacks):
    """Asked for information at ASKED through the service (its own email sent)."""
    time_machine.move_to(ASKED, tick=False)
    case = CaseFactory(in_progress=True)
    with django_capture_on_commit_callbacks(execute=True):
        services.case_request_info(
            case=case,
            engineer=case.assignee,
            message="Which version?",
            kind=InfoRequestKind.CONFIGURATION,
        )
    return case


def run_reminders(capture) -> int:
    with capture(execute=True):
        return send_reminders_task()


def reminders(outbox):
    return [email for email in outbox if "Reminder" in email.subject]


def test_reminded_seven_days_and_one_day_before_the_close(
    pending_case, time_machine, mailoutbox, django_capture_on_commit_callbacks
):
    time_machine.move_to(ASKED + days(7) - SECOND)
    assert run_reminders(django_capture_on_commit_callbacks) == 0

    time_machine.move_to(ASKED + days(7))
    assert run_reminders(django_capture_on_commit_callbacks) == 1
    assert run_reminders(django_capture_on_commit_callbacks) == 0  # reruns queue nothing

    time_machine.move_to(ASKED + days(13) - SECOND)
    assert run_reminders(django_capture_on_commit_callbacks) == 0

    time_machine.move_to(ASKED + days(13))
    assert run_reminders(django_capture_on_commit_callbacks) == 1

    time_machine.move_to(ASKED + days(14))
    assert run_reminders(django_capture_on_commit_callbacks) == 0  # due to close, not remind

    first, last = reminders(mailoutbox)
    assert first.to == last.to == [pending_case.requester.email]
    assert first.subject.startswith(f"[{pending_case.reference}] Reminder:")
    assert re.search(
        r"closes automatically on 16 March 2026, \d\d:\d\d UTC \(in 7 days\)", first.body
    )
    assert re.search(
        r"closes automatically on 16 March 2026, \d\d:\d\d UTC \(in 1 day\)", last.body
    )
    assert "16 March 2026" in first.alternatives[0][0]
    assert first.reply_to == [outbox.reply_address(pending_case, pending_case.requester)]
    assert f"/cases/{pending_case.reference}/" in first.body


def test_reminder_days_come_from_settings(
    pending_case, settings, time_machine, mailoutbox, django_capture_on_commit_callbacks
):
    settings.CASE_REMINDER_DAYS_BEFORE = [3]
    time_machine.move_to(ASKED + days(7))
    assert run_reminders(django_capture_on_commit_callbacks) == 0
    time_machine.move_to(ASKED + days(11))
    assert run_reminders(django_capture_on_commit_callbacks) == 1
    assert "(in 3 days)" in reminders(mailoutbox)[0].body


def test_no_reminder_once_the_customer_replied(
    pending_case, time_machine, mailoutbox, django_capture_on_commit_callbacks
):
    time_machine.move_to(ASKED + days(5))
    services.case_reply(case=pending_case, author=pending_case.requester, body="Version 1.29.")

    for day in (7, 13):
        time_machine.move_to(ASKED + days(day))
        assert run_reminders(django_capture_on_commit_callbacks) == 0
    assert reminders(mailoutbox) == []


def test_reminder_queued_before_the_reply_is_cancelled_not_sent(
    pending_case, time_machine, mailoutbox, django_capture_on_commit_callbacks
):
    time_machine.move_to(ASKED + days(7))
    with django_capture_on_commit_callbacks(execute=False):  # its task is lost
        assert send_reminders_task() == 1
    services.case_reply(case=pending_case, author=pending_case.requester, body="Version 1.29.")

    time_machine.shift(outbox.relay_grace())
    assert outbox.relay_unsent() == 2  # the reminder and the engineer's email
    reminder = Notification.objects.get(kind=NotificationKind.REMINDER)
    assert reminder.state == NotificationState.CANCELLED
    assert reminder.attempts == 0
    assert reminders(mailoutbox) == []
    [to_engineer] = mailoutbox[1:]
    assert to_engineer.to == [pending_case.assignee.email]


def test_after_an_outage_only_the_latest_due_reminder_is_sent(
    pending_case, time_machine, mailoutbox, django_capture_on_commit_callbacks
):
    time_machine.move_to(ASKED + days(13) + timedelta(hours=2))
    assert run_reminders(django_capture_on_commit_callbacks) == 1
    [reminder] = reminders(mailoutbox)
    assert "(in 1 day)" in reminder.body


def test_a_new_request_for_information_earns_new_reminders(
    pending_case, time_machine, mailoutbox, django_capture_on_commit_callbacks
):
    time_machine.move_to(ASKED + days(7))
    assert run_reminders(django_capture_on_commit_callbacks) == 1
    services.case_reply(case=pending_case, author=pending_case.requester, body="Version 1.29.")
    services.case_request_info(
        case=pending_case,
        engineer=pending_case.assignee,
        message="And the node count?",
        kind=InfoRequestKind.CONFIGURATION,
    )

    time_machine.move_to(ASKED + days(14))
    assert run_reminders(django_capture_on_commit_callbacks) == 1
    assert re.search(
        r"closes automatically on 23 March 2026, \d\d:\d\d UTC \(in 7 days\)",
        reminders(mailoutbox)[-1].body,
    )


def test_no_reminder_while_the_close_is_held(
    pending_case, time_machine, mailoutbox, django_capture_on_commit_callbacks
):
    services.case_hold_auto_close(case=pending_case, reason="The question bounced")
    time_machine.move_to(ASKED + days(7))
    assert run_reminders(django_capture_on_commit_callbacks) == 0


def test_no_reminder_for_resolved_cases(
    time_machine, mailoutbox, django_capture_on_commit_callbacks
):
    time_machine.move_to(ASKED, tick=False)
    CaseFactory(resolved=True)
    time_machine.move_to(ASKED + days(6))
    assert run_reminders(django_capture_on_commit_callbacks) == 0


def test_a_reminder_keeps_its_clock_and_threshold_in_columns(
    pending_case, time_machine, django_capture_on_commit_callbacks
):
    time_machine.move_to(ASKED + days(13))
    run_reminders(django_capture_on_commit_callbacks)

    reminder = Notification.objects.get(kind=NotificationKind.REMINDER)
    assert reminder.clock_started_at == ASKED
    assert reminder.reminder_days_before == 1


def test_the_email_and_the_obsolete_check_read_the_columns_not_the_key(
    pending_case, time_machine, django_capture_on_commit_callbacks
):
    """The dedupe key only keeps reminders unique: what it spells is never read back."""
    time_machine.move_to(ASKED + days(7))
    pending_case.refresh_from_db()
    outbox.queue_reminder(pending_case, days_before=7, recipient=pending_case.requester)
    reminder = Notification.objects.get(kind=NotificationKind.REMINDER)
    Notification.objects.filter(pk=reminder.pk).update(dedupe_key="reminder:opaque")
    reminder.refresh_from_db()

    assert "(in 7 days)" in outbox.build_email(reminder).body
    assert not outbox.is_obsolete(reminder)
    Notification.objects.filter(pk=reminder.pk).update(clock_started_at=ASKED - SECOND)
    reminder.refresh_from_db()
    assert outbox.is_obsolete(reminder)


def test_the_migration_fills_the_columns_of_existing_reminders_from_their_keys(pending_case):
    from importlib import import_module

    from django.apps import apps

    migration = import_module("cases.migrations.0013_rules_reminder_columns")
    started = datetime(2026, 3, 2, 9, 0, 0, 123457, tzinfo=UTC)
    key = f"reminder:{pending_case.pk}:{started.timestamp():.6f}:7:{pending_case.requester_id}"
    old = Notification.objects.create(
        case=pending_case,
        kind=NotificationKind.REMINDER,
        recipient=pending_case.requester,
        to_email=pending_case.requester.email,
        subject="Reminder",
        dedupe_key=key,
    )

    migration.fill_reminder_columns(apps, None)

    old.refresh_from_db()
    assert old.clock_started_at == started  # to the microsecond
    assert old.reminder_days_before == 7
    assert migration.clock_from_key("event:1:closed:2") is None
