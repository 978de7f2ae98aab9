"""The closure policy's clocks: exact boundaries, restarts, holds and settings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command

from cases import outbox, services
from cases.models import Case, CaseEvent, InfoRequestKind, Notification, Status
from cases.services import close_stale_cases
from tests.factories import CaseFactory, EngineerFactory

pytestmark = pytest.mark.django_db

START = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
ONE_SECOND = timedelta(seconds=1)


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def clock(time_machine):
    time_machine.move_to(START, tick=False)
    return time_machine


def ask_for_logs(case: Case) -> None:
    services.case_request_info(
        case=case,
        engineer=case.assignee,
        message="Please attach the kubelet logs.",
        kind=InfoRequestKind.LOGS,
    )


def status_of(case: Case) -> str:
    return Case.objects.get(pk=case.pk).status


# --- Pending Customer: 14 days --------------------------------------------------------


def test_pending_customer_case_stays_open_until_one_second_before_fourteen_days(clock):
    case = CaseFactory(in_progress=True)
    ask_for_logs(case)

    clock.move_to(START + timedelta(days=14) - ONE_SECOND)
    assert close_stale_cases() == []
    assert status_of(case) == Status.PENDING_CUSTOMER


def test_pending_customer_case_closes_one_second_after_fourteen_days(clock):
    case = CaseFactory(in_progress=True)
    ask_for_logs(case)

    clock.move_to(START + timedelta(days=14) + ONE_SECOND)
    assert [c.pk for c in close_stale_cases()] == [case.pk]

    case.refresh_from_db()
    assert case.status == Status.CLOSED
    assert case.closed_at == START + timedelta(days=14) + ONE_SECOND
    assert case.pending_since is None
    event = case.events.latest("created_at", "id")
    assert (event.from_status, event.to_status, event.actor_kind) == (
        Status.PENDING_CUSTOMER,
        Status.CLOSED,
        "scheduler",
    )
    assert Notification.objects.filter(case=case, kind="auto_closed").count() == 1


def test_pending_customer_deadline_is_inclusive(clock):
    case = CaseFactory(in_progress=True)
    ask_for_logs(case)
    case.refresh_from_db()
    assert case.auto_close_at == START + timedelta(days=14)

    clock.move_to(case.auto_close_at)
    assert [c.pk for c in close_stale_cases()] == [case.pk]


def test_reply_just_before_deadline_keeps_case_open(clock):
    case = CaseFactory(in_progress=True)
    ask_for_logs(case)

    clock.move_to(START + timedelta(days=14) - ONE_SECOND)
    services.case_reply(case=case, author=case.requester, body="Logs attached.")
    clock.move_to(START + timedelta(days=30))

    assert close_stale_cases() == []
    assert status_of(case) == Status.IN_PROGRESS


def test_a_new_request_for_information_restarts_the_clock(clock):
    case = CaseFactory(in_progress=True)
    ask_for_logs(case)
    clock.move_to(START + timedelta(days=10))
    services.case_reply(case=case, author=case.requester, body="Here are the logs.")
    second_request = START + timedelta(days=11)
    clock.move_to(second_request)
    ask_for_logs(case)

    # Fourteen days after the first request the new question is only 3 days old.
    clock.move_to(START + timedelta(days=14) + ONE_SECOND)
    assert close_stale_cases() == []
    clock.move_to(second_request + timedelta(days=14) - ONE_SECOND)
    assert close_stale_cases() == []
    assert status_of(case) == Status.PENDING_CUSTOMER

    clock.move_to(second_request + timedelta(days=14) + ONE_SECOND)
    assert [c.pk for c in close_stale_cases()] == [case.pk]


def test_held_clock_never_closes_the_case(clock):
    case = CaseFactory(in_progress=True)
    ask_for_logs(case)
    services.case_hold_auto_close(case=case, reason="The question bounced")

    clock.move_to(START + timedelta(days=365))
    assert close_stale_cases() == []
    assert services.case_auto_close(case_id=case.pk) is None
    assert status_of(case) == Status.PENDING_CUSTOMER


def test_a_new_request_releases_a_held_clock(clock):
    case = CaseFactory(in_progress=True)
    ask_for_logs(case)
    services.case_hold_auto_close(case=case, reason="The question bounced")
    services.case_reply(case=case, author=case.requester, body="Sorry, new address.")
    ask_for_logs(case)

    clock.move_to(START + timedelta(days=14) + ONE_SECOND)
    assert [c.pk for c in close_stale_cases()] == [case.pk]


@pytest.mark.parametrize("days", [3, 21])
def test_pending_customer_setting_moves_the_deadline(clock, settings, days):
    settings.CASE_PENDING_CUSTOMER_AUTO_CLOSE_DAYS = days
    case = CaseFactory(in_progress=True)
    ask_for_logs(case)

    clock.move_to(START + timedelta(days=days) - ONE_SECOND)
    assert close_stale_cases() == []
    clock.move_to(START + timedelta(days=days) + ONE_SECOND)
    assert [c.pk for c in close_stale_cases()] == [case.pk]
    assert case.events.latest("created_at", "id").reason == (
        f"No reply for {days} days on Pending Customer"
    )


def test_changing_the_setting_moves_clocks_already_running(clock, settings):
    case = CaseFactory(in_progress=True)
    ask_for_logs(case)
    clock.move_to(START + timedelta(days=5))
    assert close_stale_cases() == []

    settings.CASE_PENDING_CUSTOMER_AUTO_CLOSE_DAYS = 4
    assert [c.pk for c in close_stale_cases()] == [case.pk]


# --- Resolved: 7 days -----------------------------------------------------------------


@pytest.mark.parametrize("who", ["engineer", "customer"])
def test_resolved_case_stays_open_until_one_second_before_seven_days(clock, who):
    case = CaseFactory(in_progress=True)
    if who == "engineer":
        services.case_resolve(case=case, engineer=case.assignee)
    else:
        services.case_mark_resolved(case=case, customer=case.requester)

    clock.move_to(START + timedelta(days=7) - ONE_SECOND)
    assert close_stale_cases() == []
    assert status_of(case) == Status.RESOLVED

    clock.move_to(START + timedelta(days=7) + ONE_SECOND)
    assert [c.pk for c in close_stale_cases()] == [case.pk]
    case.refresh_from_db()
    assert case.status == Status.CLOSED
    assert case.events.latest("created_at", "id").reason == (
        "Resolved with no objection for 7 days"
    )


def test_objection_before_seven_days_keeps_resolved_case_from_closing(clock):
    case = CaseFactory(in_progress=True)
    services.case_resolve(case=case, engineer=case.assignee)
    clock.move_to(START + timedelta(days=7) - ONE_SECOND)
    services.case_reply(case=case, author=case.requester, body="It is not fixed.")

    clock.move_to(START + timedelta(days=60))
    assert close_stale_cases() == []
    assert status_of(case) == Status.OPEN


@pytest.mark.parametrize("days", [1, 10])
def test_resolved_setting_moves_the_deadline(clock, settings, days):
    settings.CASE_RESOLVED_AUTO_CLOSE_DAYS = days
    case = CaseFactory(in_progress=True)
    services.case_resolve(case=case, engineer=case.assignee)

    clock.move_to(START + timedelta(days=days) - ONE_SECOND)
    assert close_stale_cases() == []
    clock.move_to(START + timedelta(days=days) + ONE_SECOND)
    assert [c.pk for c in close_stale_cases()] == [case.pk]


# --- The sweep ------------------------------------------------------------------------


@pytest.mark.parametrize("status", [Status.NEW, Status.OPEN, Status.IN_PROGRESS, Status.CLOSED])
def test_sweep_never_touches_cases_without_a_running_clock(clock, status):
    traits = {} if status == Status.NEW else {status.value: True}
    case = CaseFactory(**traits)
    clock.move_to(START + timedelta(days=1000))
    assert close_stale_cases() == []
    assert status_of(case) == status


def test_sweep_works_in_batches_and_a_rerun_closes_nothing(clock):
    engineer = EngineerFactory()
    cases = [CaseFactory(in_progress=True, engineer=engineer) for _ in range(5)]
    for case in cases:
        ask_for_logs(case)
    clock.move_to(START + timedelta(days=15))

    closed = close_stale_cases(batch_size=2)

    assert sorted(c.pk for c in closed) == sorted(c.pk for c in cases)
    assert close_stale_cases(batch_size=2) == []
    assert CaseEvent.objects.filter(to_status=Status.CLOSED).count() == 5
    assert Notification.objects.filter(kind="auto_closed").count() == 5


def test_close_stale_cases_command_prints_what_it_closed(clock):
    due = CaseFactory(in_progress=True, subject="Nodes NotReady")
    ask_for_logs(due)
    resolved = CaseFactory(in_progress=True, subject="Wrong VAT number")
    services.case_resolve(case=resolved, engineer=resolved.assignee)
    not_due = CaseFactory(in_progress=True, subject="Slow dashboard")
    clock.move_to(START + timedelta(days=10))
    ask_for_logs(not_due)
    clock.move_to(START + timedelta(days=14, seconds=1))

    out = StringIO()
    call_command("close_stale_cases", stdout=out)

    output = out.getvalue()
    assert f"Closed {due.reference}: Nodes NotReady" in output
    assert f"Closed {resolved.reference}: Wrong VAT number" in output
    assert not_due.reference not in output
    assert "2 case(s) closed." in output

    again = StringIO()
    call_command("close_stale_cases", stdout=again)
    assert "0 case(s) closed." in again.getvalue()


def test_one_failing_case_does_not_stop_the_sweep_closing_the_others(clock, monkeypatch, caplog):
    engineer = EngineerFactory()
    cases = [CaseFactory(in_progress=True, engineer=engineer) for _ in range(3)]
    for case in cases:
        ask_for_logs(case)
    poison = cases[0]
    real_queue = outbox.queue

    def queue_failing_for_poison(case, *args, **kwargs):
        if case.pk == poison.pk:
            raise RuntimeError("template missing")
        return real_queue(case, *args, **kwargs)

    real_queue_many = outbox.queue_many

    def queue_many_failing_for_poison(items):
        items = list(items)
        if any(case.pk == poison.pk for case, *_ in items):
            raise RuntimeError("template missing")
        return real_queue_many(items)

    monkeypatch.setattr(outbox, "queue", queue_failing_for_poison)
    monkeypatch.setattr(outbox, "queue_many", queue_many_failing_for_poison)
    clock.move_to(START + timedelta(days=15))

    closed = close_stale_cases(batch_size=1)

    assert sorted(c.pk for c in closed) == sorted(c.pk for c in cases[1:])
    # The failed case rolled back whole: still pending, no history, and logged.
    assert status_of(poison) == Status.PENDING_CUSTOMER
    assert not poison.events.filter(to_status=Status.CLOSED).exists()
    assert f"case {poison.pk}" in caplog.text
    # Once the cause is fixed, the next sweep closes it.
    monkeypatch.setattr(outbox, "queue", real_queue)
    monkeypatch.setattr(outbox, "queue_many", real_queue_many)
    assert [c.pk for c in close_stale_cases()] == [poison.pk]
