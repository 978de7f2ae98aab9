"""The clocks driven only by the scheduled tasks, under time travel."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command

from cases import services
from cases.models import CaseEvent, InfoRequestKind, Notification, NotificationState, Status
from cases.tasks import close_stale_cases_task, relay_notifications_task, send_reminders_task
from tests.factories import CaseFactory, days

pytestmark = pytest.mark.django_db

ASKED = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_pending_case_is_reminded_on_days_7_and_13_then_closed_on_day_14_by_the_tasks(
    time_machine, mailoutbox, django_capture_on_commit_callbacks
):
    time_machine.move_to(ASKED, tick=False)
    case = CaseFactory(in_progress=True)
    with django_capture_on_commit_callbacks(execute=True):
        services.case_request_info(
            case=case, engineer=case.assignee, message="Send the logs.", kind=InfoRequestKind.LOGS
        )
    mailoutbox.clear()

    # Every scheduled task once an hour for 15 days (beat runs the sweep and the relay
    # more often; an hour is fine enough to see the day each email goes out).
    received: list[tuple[timedelta, str]] = []
    now = ASKED
    while now <= ASKED + days(15):
        time_machine.move_to(now, tick=False)
        with django_capture_on_commit_callbacks(execute=True):
            send_reminders_task()
            close_stale_cases_task()
            relay_notifications_task()
        to_customer = [email for email in mailoutbox if email.to == [case.requester.email]]
        received += [(now - ASKED, email.subject) for email in to_customer]
        mailoutbox.clear()
        now += timedelta(hours=1)

    assert [
        (elapsed, subject.split("]")[1].split(":")[0].strip()) for elapsed, subject in received
    ] == [
        (days(7), "Reminder"),
        (days(13), "Reminder"),
        (days(14), "Closed automatically"),
    ]
    case.refresh_from_db()
    assert case.status == Status.CLOSED
    assert case.closed_at == ASKED + days(14)
    event = CaseEvent.objects.filter(case=case).latest("created_at")
    assert event.actor_kind == "scheduler"
    assert set(Notification.objects.values_list("state", flat=True)) == {NotificationState.SENT}


def test_close_stale_cases_command_closes_with_the_closing_email_15_days_later(
    time_machine, mailoutbox, django_capture_on_commit_callbacks, capsys
):
    time_machine.move_to(ASKED, tick=False)
    case = CaseFactory(pending_customer=True)
    waiting = CaseFactory(pending_customer=True, pending_since=ASKED + days(2))

    time_machine.move_to(ASKED + days(15), tick=False)
    with django_capture_on_commit_callbacks(execute=True):
        call_command("close_stale_cases")

    assert f"Closed {case.reference}" in capsys.readouterr().out
    # The customer, and the engineer the case was assigned to.
    assert sorted(email.to[0] for email in mailoutbox) == sorted(
        [case.requester.email, case.assignee.email]
    )
    assert all(
        email.subject.startswith(f"[{case.reference}] Closed automatically:")
        for email in mailoutbox
    )
    waiting.refresh_from_db()
    assert waiting.status == Status.PENDING_CUSTOMER


def test_sweep_task_rerun_closes_nothing_twice(
    time_machine, mailoutbox, django_capture_on_commit_callbacks
):
    time_machine.move_to(ASKED, tick=False)
    case = CaseFactory(resolved=True)
    time_machine.move_to(ASKED + days(7), tick=False)
    with django_capture_on_commit_callbacks(execute=True):
        assert close_stale_cases_task() == [case.reference]
        assert close_stale_cases_task() == []
    assert len(mailoutbox) == 2  # the customer and the engineer, once each
    assert all("Why: Resolved with no objection for 7 days." in e.body for e in mailoutbox)
