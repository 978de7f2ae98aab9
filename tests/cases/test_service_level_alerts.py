"""Warnings before a response target is missed and the escalation when it is (beat's
`check_service_levels`): who is told, when, and exactly once (time travel throughout)."""

from __future__ import annotations

from datetime import datetime, timedelta
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command

from cases import outbox, services
from cases.models import (
    Actor,
    Case,
    CaseEvent,
    InfoRequestKind,
    Notification,
    NotificationKind,
    NotificationState,
    Priority,
    ResponseTarget,
    Status,
    TargetOutcome,
)
from cases.services import check_service_levels
from cases.tasks import check_service_levels_task
from tests.factories import EngineerFactory, OrganisationFactory, customer, plan_with_targets

pytestmark = pytest.mark.django_db

PARIS = ZoneInfo("Europe/Paris")
HOUR = timedelta(hours=1)
WARNING = NotificationKind.SERVICE_LEVEL_WARNING
BREACHED = NotificationKind.SERVICE_LEVEL_BREACHED


def paris(*args) -> datetime:
    return datetime(*args, tzinfo=PARIS)


@pytest.fixture(autouse=True)
def _portal_in_paris(settings):
    settings.TIME_ZONE = "Europe/Paris"
    settings.ONCALL_EMAIL = ""


@pytest.fixture
def plan(db):
    """Around the clock for P1 (1 h / 2 h), business hours for P3 (4 h / 8 h)."""
    return plan_with_targets("Gold")


@pytest.fixture
def organisation(plan):
    return OrganisationFactory(
        name="Acme Paris", plan=plan, time_zone="Europe/Paris", holiday_country="FR"
    )


@pytest.fixture
def requester(organisation):
    return customer(organisation, email="ines@acme.example")


@pytest.fixture
def engineer(db):
    return EngineerFactory(email="sam@support.example", full_name="Sam Rivera")


@pytest.fixture
def at(time_machine):
    def move(moment: datetime) -> datetime:
        time_machine.move_to(moment, tick=False)
        return moment

    return move


def open_case(requester, priority=Priority.P3, *, assignee=None) -> Case:
    case = services.case_open(
        requester=requester,
        subject="Cluster down",
        description="Nodes NotReady.",
        priority=priority,
    )
    if assignee is not None:
        case = services.case_assign(case=case, engineer=assignee)
    return case


def target_of(case: Case) -> ResponseTarget:
    return ResponseTarget.objects.filter(case=case).order_by("pk").last()


def alerts(kind=None, **filters) -> list[Notification]:
    kinds = [kind] if kind else [WARNING, BREACHED]
    return list(Notification.objects.filter(kind__in=kinds, **filters).order_by("to_email"))


def breach_entries(case: Case) -> list[CaseEvent]:
    return list(CaseEvent.objects.filter(case=case, transition="service_level_breach"))


def html_of(email) -> str:
    [(html, _)] = email.alternatives
    return html


# --- When the warning goes out -----------------------------------------------------------


def test_warning_goes_out_at_75_percent_of_a_business_hours_target_across_a_night(
    requester, engineer, at
):
    at(paris(2026, 3, 2, 16))  # Monday 16:00: one covered hour today, three tomorrow
    case = open_case(requester, assignee=engineer)
    target = target_of(case)
    assert target.due_at == paris(2026, 3, 3, 12)
    # 75 % of four covered hours: three, the third ending Tuesday at 11:00.
    assert target.warn_at == paris(2026, 3, 3, 11)

    for before in (paris(2026, 3, 2, 17), paris(2026, 3, 3, 3), paris(2026, 3, 3, 10, 59, 59)):
        at(before)
        assert check_service_levels() == services.ServiceLevelCheck(warned=0, breached=0)
    assert alerts() == []

    at(paris(2026, 3, 3, 11))
    assert check_service_levels() == services.ServiceLevelCheck(warned=1, breached=0)
    [warning] = alerts()
    assert (warning.kind, warning.recipient, warning.to_email) == (
        WARNING,
        engineer,
        engineer.email,
    )
    assert warning.response_target == target
    assert warning.dedupe_key == f"sla-warning:{target.pk}:{engineer.pk}"
    target.refresh_from_db()
    assert target.warned_at == paris(2026, 3, 3, 11)
    assert target.breached_at is None


def test_the_warning_percentage_is_a_setting(requester, engineer, at, settings):
    settings.SERVICE_LEVEL_WARN_AT_PERCENT = 50
    at(paris(2026, 3, 2, 10))
    case = open_case(requester, assignee=engineer)
    assert target_of(case).warn_at == paris(2026, 3, 2, 12)
    at(paris(2026, 3, 2, 11, 59))
    assert check_service_levels().warned == 0
    at(paris(2026, 3, 2, 12))
    assert check_service_levels().warned == 1


# --- Who is warned ------------------------------------------------------------------------


def test_an_assigned_case_warns_its_assignee_only(requester, engineer, at, settings):
    settings.ONCALL_EMAIL = "oncall@support.example"
    EngineerFactory()
    at(paris(2026, 3, 2, 10))
    open_case(requester, assignee=engineer)
    at(paris(2026, 3, 2, 13))
    check_service_levels()
    assert [n.to_email for n in alerts()] == [engineer.email]


def test_an_unassigned_case_warns_the_oncall_address(requester, engineer, at, settings):
    settings.ONCALL_EMAIL = "oncall@support.example"
    at(paris(2026, 3, 2, 10))
    case = open_case(requester)
    at(paris(2026, 3, 2, 13))
    check_service_levels()
    [warning] = alerts()
    # A shared mailbox is nobody's login.
    assert (warning.recipient, warning.to_email) == (None, "oncall@support.example")
    assert warning.dedupe_key == f"sla-warning:{target_of(case).pk}:oncall@support.example"


def test_the_oncall_address_of_an_engineers_login_is_that_engineer(
    requester, engineer, at, settings
):
    settings.ONCALL_EMAIL = "SAM@support.example"
    at(paris(2026, 3, 2, 10))
    open_case(requester)
    at(paris(2026, 3, 2, 13))
    check_service_levels()
    [warning] = alerts()
    assert warning.recipient == engineer


def test_without_an_oncall_address_every_active_engineer_is_warned(requester, engineer, at):
    other = EngineerFactory(email="kim@support.example")
    EngineerFactory(email="gone@support.example", is_active=False)
    at(paris(2026, 3, 2, 10))
    open_case(requester)
    at(paris(2026, 3, 2, 13))
    check_service_levels()
    assert [(n.recipient, n.to_email) for n in alerts()] == [
        (other, other.email),
        (engineer, engineer.email),
    ]


def test_an_assignee_who_left_is_replaced_by_the_oncall_address(requester, engineer, at, settings):
    settings.ONCALL_EMAIL = "oncall@support.example"
    at(paris(2026, 3, 2, 10))
    open_case(requester, assignee=engineer)
    engineer.is_active = False
    engineer.save()
    at(paris(2026, 3, 2, 13))
    check_service_levels()
    assert [n.to_email for n in alerts()] == ["oncall@support.example"]


# --- Escalation at breach -------------------------------------------------------------------


def test_breach_escalates_to_oncall_and_assignee_with_a_history_entry(
    requester, engineer, at, settings
):
    settings.ONCALL_EMAIL = "oncall@support.example"
    at(paris(2026, 3, 2, 10))
    case = open_case(requester, assignee=engineer)
    at(paris(2026, 3, 2, 13))
    check_service_levels()
    at(paris(2026, 3, 2, 13, 59, 59))
    assert check_service_levels().breached == 0

    at(paris(2026, 3, 2, 14, 0, 30))
    assert check_service_levels() == services.ServiceLevelCheck(warned=0, breached=1)
    target = target_of(case)
    # Breached when it fell due; still running until an engineer replies.
    assert target.breached_at == paris(2026, 3, 2, 14)
    assert target.outcome == TargetOutcome.RUNNING
    [entry] = breach_entries(case)
    assert (
        entry.reason
        == "First response target missed (due 2 Mar 2026, 14:00 CET, Gold plan, P3 Normal)"
    )
    assert (entry.from_status, entry.to_status) == (Status.OPEN, Status.OPEN)
    assert (entry.actor, entry.actor_kind) == (None, Actor.SCHEDULER)
    assert entry.created_at == paris(2026, 3, 2, 14, 0, 30)
    escalations = alerts(BREACHED)
    assert [(n.recipient, n.to_email) for n in escalations] == [
        (None, "oncall@support.example"),
        (engineer, engineer.email),
    ]
    assert {n.event for n in escalations} == {entry}
    # The case's status and its own due time are untouched.
    case.refresh_from_db()
    assert case.status == Status.OPEN
    assert case.response_due_at == paris(2026, 3, 2, 14)


def test_an_unassigned_breach_without_oncall_address_tells_every_engineer(requester, engineer, at):
    other = EngineerFactory(email="kim@support.example")
    at(paris(2026, 3, 2, 10))
    open_case(requester)
    at(paris(2026, 3, 2, 14))
    check_service_levels()
    assert [n.recipient for n in alerts(BREACHED)] == [other, engineer]


def test_the_assignee_who_is_also_oncall_gets_one_escalation(requester, engineer, at, settings):
    settings.ONCALL_EMAIL = engineer.email
    at(paris(2026, 3, 2, 10))
    open_case(requester, assignee=engineer)
    at(paris(2026, 3, 2, 14))
    check_service_levels()
    assert [n.recipient for n in alerts(BREACHED)] == [engineer]


def test_a_target_first_seen_after_its_due_time_is_escalated_without_a_warning(
    requester, engineer, at
):
    at(paris(2026, 3, 2, 10))
    case = open_case(requester, assignee=engineer)
    # Beat was down from before the warning until after the due time.
    at(paris(2026, 3, 2, 15))
    assert check_service_levels() == services.ServiceLevelCheck(warned=0, breached=1)
    assert alerts(WARNING) == []
    assert len(alerts(BREACHED)) == 1
    assert target_of(case).warned_at is None
    at(paris(2026, 3, 2, 16))
    assert check_service_levels() == services.ServiceLevelCheck(warned=0, breached=0)
    assert alerts(WARNING) == []


def test_the_next_update_target_is_warned_and_escalated_in_its_turn(requester, engineer, at):
    at(paris(2026, 3, 2, 10))  # P1: around the clock, 1 h first response, 2 h next update
    case = open_case(requester, Priority.P1, assignee=engineer)
    services.case_reply(case=case, author=engineer, body="Looking at it.")
    at(paris(2026, 3, 2, 10, 30))
    services.case_reply(case=case, author=requester, body="Still down.")
    target = target_of(case)
    assert target.kind == "next_update"
    at(paris(2026, 3, 2, 12))
    check_service_levels()
    at(paris(2026, 3, 2, 12, 30))
    check_service_levels()
    [entry] = breach_entries(case)
    assert entry.reason.startswith("Next update target missed (due 2 Mar 2026, 12:30 CET")
    assert sorted(n.kind for n in alerts(response_target=target)) == [BREACHED, WARNING]


# --- Exactly once -----------------------------------------------------------------------


def test_repeated_runs_warn_and_escalate_each_target_once(requester, engineer, at, settings):
    settings.ONCALL_EMAIL = "oncall@support.example"
    at(paris(2026, 3, 2, 10))
    cases = [open_case(requester, assignee=engineer if n % 2 else None) for n in range(4)]
    for minute in range(0, 60 * 5, 7):
        at(paris(2026, 3, 2, 12, 50) + timedelta(minutes=minute))
        check_service_levels()
        check_service_levels()
    for case in cases:
        target = target_of(case)
        assert len(breach_entries(case)) == 1
        assert len(alerts(WARNING, response_target=target)) == 1
        expected = 2 if case.assignee_id else 1
        assert len(alerts(BREACHED, response_target=target)) == expected


def test_a_warning_queued_twice_is_refused_by_its_key(requester, engineer, at):
    """Should a run ever find a target warned_at lost (a restore, a bug), the outbox's
    dedupe key still refuses the same warning to the same person."""
    at(paris(2026, 3, 2, 10))
    case = open_case(requester, assignee=engineer)
    at(paris(2026, 3, 2, 13))
    check_service_levels()
    ResponseTarget.objects.filter(case=case).update(warned_at=None)
    assert check_service_levels().warned == 1
    assert len(alerts(WARNING)) == 1


# --- Nothing for targets that are not running ---------------------------------------------


def test_a_reply_a_moment_before_the_due_time_means_no_escalation(requester, engineer, at):
    at(paris(2026, 3, 2, 10))
    case = open_case(requester, assignee=engineer)
    at(paris(2026, 3, 2, 13, 59, 59))
    services.case_reply(case=case, author=engineer, body="On it.")
    at(paris(2026, 3, 2, 14, 5))
    assert check_service_levels() == services.ServiceLevelCheck(warned=0, breached=0)
    assert alerts() == []
    assert breach_entries(case) == []
    assert target_of(case).outcome == TargetOutcome.MET


def test_a_paused_target_gets_neither_warning_nor_escalation(requester, engineer, at):
    at(paris(2026, 3, 2, 10))
    case = open_case(requester, assignee=engineer)
    at(paris(2026, 3, 2, 12))
    # The question is the first public reply: it meets the first response target. The
    # customer's answer would start the next update; until then nothing runs.
    services.case_request_info(
        case=case, engineer=engineer, message="Which version?", kind=InfoRequestKind.LOGS
    )
    for hours in (1, 5, 48):
        at(paris(2026, 3, 2, 12) + timedelta(hours=hours))
        assert check_service_levels() == services.ServiceLevelCheck(warned=0, breached=0)
    assert alerts() == []


def test_a_paused_target_is_left_alone_until_it_runs_again(requester, engineer, at):
    at(paris(2026, 3, 2, 10))
    case = open_case(requester, assignee=engineer)
    at(paris(2026, 3, 2, 11))  # one business hour used, three left
    services.case_resolve(case=case, engineer=engineer)
    assert target_of(case).outcome == TargetOutcome.PAUSED
    for moment in (paris(2026, 3, 2, 13), paris(2026, 3, 3, 10), paris(2026, 3, 4, 15)):
        at(moment)
        assert check_service_levels() == services.ServiceLevelCheck(warned=0, breached=0)
    assert alerts() == []

    at(paris(2026, 3, 4, 16))
    services.case_reopen(case=Case.objects.get(pk=case.pk), actor=requester, message="No.")
    # Resumed: two covered hours to the warning (Wed 16-17, Thu 9-10), due Thu 11:00.
    at(paris(2026, 3, 5, 9, 59))
    assert check_service_levels().warned == 0
    at(paris(2026, 3, 5, 10))
    assert check_service_levels().warned == 1


def test_closed_and_met_targets_get_nothing(requester, engineer, at):
    at(paris(2026, 3, 2, 10))
    closed = open_case(requester, assignee=engineer)
    services.case_close(case=closed, actor=requester)
    met = open_case(requester, assignee=engineer)
    services.case_reply(case=met, author=engineer, body="Done.")
    at(paris(2026, 3, 3, 10))
    assert check_service_levels() == services.ServiceLevelCheck(warned=0, breached=0)
    assert {target_of(closed).outcome, target_of(met).outcome} == {
        TargetOutcome.STOPPED,
        TargetOutcome.MET,
    }


def test_a_target_whose_due_time_moved_later_is_not_warned_early(
    requester, engineer, at, organisation
):
    at(paris(2026, 3, 2, 10))
    case = open_case(requester, Priority.P1, assignee=engineer)
    assert target_of(case).warn_at == paris(2026, 3, 2, 10, 45)
    at(paris(2026, 3, 2, 10, 30))
    services.case_update_details(
        case=case, engineer=engineer, subject=case.subject, priority=Priority.P3
    )
    target = target_of(case)
    assert (target.warn_at, target.due_at) == (paris(2026, 3, 2, 13), paris(2026, 3, 2, 14))
    at(paris(2026, 3, 2, 11, 30))  # after the old due time
    assert check_service_levels() == services.ServiceLevelCheck(warned=0, breached=0)
    at(paris(2026, 3, 2, 13))
    assert check_service_levels().warned == 1


# --- The emails -------------------------------------------------------------------------------


def test_the_warning_email_says_which_target_is_due_when_and_for_whom(
    requester, engineer, at, mailoutbox, django_capture_on_commit_callbacks
):
    at(paris(2026, 3, 2, 16))
    case = open_case(requester, assignee=engineer)
    mailoutbox.clear()
    at(paris(2026, 3, 3, 11, 15))
    with django_capture_on_commit_callbacks(execute=True):
        check_service_levels()

    [email] = mailoutbox
    assert email.to == [engineer.email]
    assert email.subject == f"[{case.reference}] Response target at risk (P3 Normal): Cluster down"
    admin_link = f"{django_settings.SITE_URL}/admin/cases/case/{case.pk}/change/"
    for body in (email.body, html_of(email).replace("<strong>", "").replace("</strong>", "")):
        assert f"Case {case.reference} is about to miss its first response target" in body
        assert "due by 3 March 2026, 12:00 CET (45 minutes left)" in body
        assert "First response within 4 hours (Business hours)" in body
        assert "Gold plan, P3 Normal" in body
        assert f"{requester} (Acme Paris)" in body
        assert str(engineer) in body
        assert admin_link in body
    assert Notification.objects.get(kind=WARNING).state == NotificationState.SENT


def test_the_escalation_email_says_when_it_was_due_and_how_late_it_is(
    requester, engineer, at, mailoutbox, django_capture_on_commit_callbacks, settings
):
    settings.ONCALL_EMAIL = "oncall@support.example"
    at(paris(2026, 3, 2, 10))
    case = open_case(requester)
    mailoutbox.clear()
    at(paris(2026, 3, 2, 15, 30))
    with django_capture_on_commit_callbacks(execute=True):
        check_service_levels()

    [email] = mailoutbox
    assert email.to == ["oncall@support.example"]
    assert email.subject == f"[{case.reference}] Response target missed (P3 Normal): Cluster down"
    # Nobody's login: no reply address, and the email says a reply reaches no case.
    assert email.reply_to == []
    for body in (email.body, html_of(email).replace("<strong>", "").replace("</strong>", "")):
        assert f"Case {case.reference} missed its first response target" in body
        assert "was due by 2 March 2026, 14:00 CET and is overdue by 1 hour 30 minutes" in body
        assert "Gold plan, P3 Normal" in body
        assert "Assigned to" in body and "nobody" in body
        assert f"/admin/cases/case/{case.pk}/change/" in body
        assert "A reply to this email is not added to the case" in body


def test_a_warning_whose_target_was_met_before_it_went_out_is_cancelled(
    requester, engineer, at, mailoutbox
):
    at(paris(2026, 3, 2, 10))
    case = open_case(requester, assignee=engineer)
    at(paris(2026, 3, 2, 13))
    check_service_levels()  # queued; its task is lost (broker down)
    services.case_reply(case=case, author=engineer, body="Here is the fix.")
    [warning] = alerts(WARNING)
    mailoutbox.clear()
    outbox.deliver(warning.pk)
    warning.refresh_from_db()
    assert warning.state == NotificationState.CANCELLED
    assert warning.last_error == "Not sent: the response target is no longer running."
    assert mailoutbox == []


def test_an_escalation_still_goes_out_after_a_late_reply(requester, engineer, at, mailoutbox):
    at(paris(2026, 3, 2, 10))
    case = open_case(requester, assignee=engineer)
    at(paris(2026, 3, 2, 14, 1))
    check_service_levels()
    at(paris(2026, 3, 2, 14, 2))
    services.case_reply(case=case, author=engineer, body="Sorry for the wait.")
    assert target_of(case).outcome == TargetOutcome.MISSED
    [escalation] = alerts(BREACHED)
    mailoutbox.clear()
    outbox.deliver(escalation.pk)
    [email] = mailoutbox
    assert "was due by 2 March 2026, 14:00 CET; the target is missed now." in email.body


# --- Many at once ---------------------------------------------------------------------------


def test_hundreds_of_due_targets_in_one_run_take_few_queries(
    requester, engineer, at, django_assert_max_num_queries
):
    at(paris(2026, 3, 2, 10))
    warned = [open_case(requester) for _ in range(150)]
    at(paris(2026, 3, 2, 10, 30))
    breached = [open_case(requester, Priority.P1) for _ in range(150)]
    # P1 (1 h, 24x7) from 10:30 is due at 11:30; P3 (4 h business) from 10:00 warns at 13:00.
    at(paris(2026, 3, 2, 13))
    with django_assert_max_num_queries(40):
        result = check_service_levels(batch_size=100)
    assert result == services.ServiceLevelCheck(warned=150, breached=150)
    assert Notification.objects.filter(kind=WARNING).count() == 150
    assert Notification.objects.filter(kind=BREACHED).count() == 150
    assert CaseEvent.objects.filter(transition="service_level_breach").count() == 150
    assert {t.case_id for t in ResponseTarget.objects.filter(warned_at__isnull=False)} == {
        c.pk for c in warned
    }
    assert {t.case_id for t in ResponseTarget.objects.filter(breached_at__isnull=False)} == {
        c.pk for c in breached
    }
    assert check_service_levels() == services.ServiceLevelCheck(warned=0, breached=0)


def test_one_bad_target_does_not_hold_up_the_rest(requester, engineer, at, monkeypatch):
    at(paris(2026, 3, 2, 10))
    cases = [open_case(requester) for _ in range(3)]
    bad = target_of(cases[1])
    real = outbox.queue_service_level_alerts

    def failing(items):
        items = list(items)
        if any(target.pk == bad.pk for target, *_ in items):
            raise RuntimeError("a broken row")
        return real(items)

    monkeypatch.setattr(outbox, "queue_service_level_alerts", failing)
    at(paris(2026, 3, 2, 14))
    assert check_service_levels().breached == 2
    assert breach_entries(cases[1]) == []
    assert target_of(cases[1]).breached_at is None
    monkeypatch.setattr(outbox, "queue_service_level_alerts", real)
    assert check_service_levels().breached == 1


# --- Beat, task and command ---------------------------------------------------------------


def test_beat_runs_the_check_every_minute_by_default():
    entry = django_settings.CELERY_BEAT_SCHEDULE["check-service-levels"]
    assert entry["task"] == "cases.tasks.check_service_levels_task"
    assert entry["schedule"] == timedelta(seconds=60)


def test_the_task_and_the_command_run_the_same_check(requester, engineer, at):
    at(paris(2026, 3, 2, 10))
    open_case(requester, assignee=engineer)
    open_case(requester, assignee=engineer)
    at(paris(2026, 3, 2, 13))
    assert check_service_levels_task() == {"warned": 2, "breached": 0}
    at(paris(2026, 3, 2, 14))
    out = StringIO()
    call_command("check_service_levels", stdout=out)
    assert out.getvalue().strip() == "0 target(s) warned, 2 target(s) escalated."
