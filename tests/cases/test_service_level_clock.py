"""The service-level clock on a case: every transition's effect, business hours, holidays,
clock changes, pauses and recomputes (time travel throughout)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from cases import service_levels, services
from cases.models import (
    Case,
    CaseEvent,
    Coverage,
    InfoRequestKind,
    Plan,
    PlanTarget,
    Priority,
    ResponseTarget,
    Status,
    TargetKind,
    TargetOutcome,
)
from cases.services import close_stale_cases
from tests.factories import EngineerFactory, OrganisationFactory, customer, plan_with_targets

pytestmark = pytest.mark.django_db

PARIS = ZoneInfo("Europe/Paris")
HOUR = timedelta(hours=1)


def paris(*args) -> datetime:
    return datetime(*args, tzinfo=PARIS)


@pytest.fixture
def plan(db):
    """Around the clock for P1 (1 h / 2 h), business hours for P3 (4 h / 8 h), nothing for P4."""
    return plan_with_targets("Tested")


@pytest.fixture
def organisation(plan):
    return OrganisationFactory(
        name="Acme Paris", plan=plan, time_zone="Europe/Paris", holiday_country="FR"
    )


@pytest.fixture
def requester(organisation):
    return customer(organisation)


@pytest.fixture
def engineer(db):
    return EngineerFactory()


@pytest.fixture
def at(time_machine):
    """Move the clock: `at(paris(2026, 3, 2, 10))`."""

    def move(moment: datetime) -> datetime:
        time_machine.move_to(moment, tick=False)
        return moment

    return move


def open_case(requester, priority=Priority.P3) -> Case:
    return services.case_open(
        requester=requester,
        subject="Cluster down",
        description="Nodes NotReady.",
        priority=priority,
    )


def reload(case: Case) -> Case:
    return Case.objects.get(pk=case.pk)


def targets(case: Case) -> list[ResponseTarget]:
    return list(ResponseTarget.objects.filter(case=case).order_by("pk"))


# --- First response ----------------------------------------------------------------------


def test_first_response_counts_business_hours_from_opening(requester, at):
    at(paris(2026, 3, 2, 10))  # a Monday
    case = open_case(requester)
    [target] = targets(case)
    assert target.kind == TargetKind.FIRST_RESPONSE
    assert target.outcome == TargetOutcome.RUNNING
    assert target.due_at == paris(2026, 3, 2, 14)
    assert reload(case).response_due_at == paris(2026, 3, 2, 14)
    # Warned at 75 % of the four hours.
    assert target.warn_at == paris(2026, 3, 2, 13)


def test_a_case_opened_on_friday_afternoon_is_due_on_monday(requester, at):
    at(paris(2026, 3, 6, 15))  # Friday 15:00: two hours left that day
    case = open_case(requester)
    assert reload(case).response_due_at == paris(2026, 3, 9, 11)


def test_a_case_opened_at_night_starts_counting_at_nine(requester, at):
    at(paris(2026, 3, 3, 2))
    case = open_case(requester)
    assert reload(case).response_due_at == paris(2026, 3, 3, 13)


def test_public_holidays_are_not_business_days(requester, at):
    # Thursday 30 April 2026, 15:00; Friday 1 May is a public holiday in France.
    at(paris(2026, 4, 30, 15))
    case = open_case(requester)
    assert reload(case).response_due_at == paris(2026, 5, 4, 11)


def test_the_day_the_clocks_go_forward_still_has_eight_business_hours(requester, at):
    # Friday 27 March 2026 16:00 CET; clocks go forward on Sunday 29 March.
    at(paris(2026, 3, 27, 16))
    case = open_case(requester)
    due = reload(case).response_due_at
    assert due == paris(2026, 3, 30, 12)
    assert due.astimezone(PARIS).utcoffset() == 2 * HOUR


def test_around_the_clock_targets_ignore_nights_and_weekends(requester, at):
    at(paris(2026, 3, 7, 23, 30))  # a Saturday night
    case = open_case(requester, Priority.P1)
    assert reload(case).response_due_at == paris(2026, 3, 8, 0, 30)


def test_a_priority_without_a_target_promises_nothing(requester, at):
    at(paris(2026, 3, 2, 10))
    case = open_case(requester, Priority.P4)
    assert targets(case) == []
    assert reload(case).response_due_at is None


def test_an_organisation_without_a_plan_is_on_the_default_plan(at, plan):
    Plan.objects.filter(is_default=True).update(is_default=False)
    plan.is_default = True
    plan.save()
    requester = customer(OrganisationFactory(name="No plan", time_zone="Europe/Paris"))
    at(paris(2026, 3, 2, 10))
    case = open_case(requester, Priority.P1)
    [target] = targets(case)
    assert target.plan == plan
    assert target.due_at == paris(2026, 3, 2, 11)


def test_the_first_public_engineer_reply_meets_the_first_response(requester, engineer, at):
    at(paris(2026, 3, 2, 10))
    case = open_case(requester)
    at(paris(2026, 3, 2, 11))
    services.case_add_internal_note(case=case, engineer=engineer, body="Looking.")
    assert targets(case)[0].outcome == TargetOutcome.RUNNING
    at(paris(2026, 3, 2, 12))
    services.case_reply(case=case, author=engineer, body="Which version?")
    [target] = targets(case)
    assert target.outcome == TargetOutcome.MET
    assert target.ended_at == paris(2026, 3, 2, 12)
    case = reload(case)
    assert case.response_due_at is None
    assert case.first_response_at == paris(2026, 3, 2, 12)


def test_a_late_reply_is_missed(requester, engineer, at):
    at(paris(2026, 3, 2, 10))
    case = open_case(requester)
    at(paris(2026, 3, 2, 15))
    services.case_reply(case=case, author=engineer, body="Sorry for the wait.")
    [target] = targets(case)
    assert target.outcome == TargetOutcome.MISSED
    assert target.breached_at == paris(2026, 3, 2, 14)


# --- Next update ---------------------------------------------------------------------------


def answered_case(requester, engineer, at) -> Case:
    at(paris(2026, 3, 2, 10))
    case = open_case(requester)
    services.case_assign(case=case, engineer=engineer)
    at(paris(2026, 3, 2, 11))
    services.case_reply(case=case, author=engineer, body="On it.")
    return reload(case)


def test_a_customer_message_starts_the_next_update(requester, engineer, at):
    case = answered_case(requester, engineer, at)
    at(paris(2026, 3, 2, 12))
    services.case_reply(case=case, author=requester, body="Any news?")
    first, second = targets(case)
    assert second.kind == TargetKind.NEXT_UPDATE
    # Eight business hours: five today, three tomorrow.
    assert second.due_at == paris(2026, 3, 3, 12)
    at(paris(2026, 3, 2, 16))
    services.case_reply(case=case, author=requester, body="Still down.")
    assert len(targets(case)) == 2, "a second message does not move the promise out"
    assert reload(case).response_due_at == paris(2026, 3, 3, 12)


def test_asking_the_customer_meets_the_target_and_nothing_runs_while_pending(
    requester, engineer, at
):
    case = answered_case(requester, engineer, at)
    services.case_reply(case=case, author=requester, body="Any news?")
    at(paris(2026, 3, 2, 13))
    services.case_request_info(
        case=case, engineer=engineer, message="Send the logs.", kind=InfoRequestKind.LOGS
    )
    assert reload(case).status == Status.PENDING_CUSTOMER
    assert targets(case)[-1].outcome == TargetOutcome.MET
    assert reload(case).response_due_at is None
    at(paris(2026, 3, 3, 9, 30))
    services.case_reply(case=case, author=requester, body="Here they are.")
    latest = targets(case)[-1]
    assert (latest.kind, latest.started_at) == (TargetKind.NEXT_UPDATE, paris(2026, 3, 3, 9, 30))
    # Seven and a half business hours on Tuesday, the last half hour on Wednesday.
    assert latest.due_at == paris(2026, 3, 4, 9, 30)


def test_the_approval_answer_starts_the_next_update(requester, engineer, at):
    case = answered_case(requester, engineer, at)
    services.case_request_info(
        case=case, engineer=engineer, message="May I restart?", kind=InfoRequestKind.APPROVAL
    )
    at(paris(2026, 3, 2, 14))
    services.case_answer_approval(case=case, customer=requester, approved=True)
    assert targets(case)[-1].kind == TargetKind.NEXT_UPDATE
    assert reload(case).response_due_at == paris(2026, 3, 3, 14)


def test_resolving_without_a_reply_pauses_and_reopening_resumes(requester, engineer, at):
    at(paris(2026, 3, 2, 10))
    case = open_case(requester)
    services.case_assign(case=case, engineer=engineer)
    at(paris(2026, 3, 2, 11))  # one business hour used
    services.case_resolve(case=case, engineer=engineer)
    [target] = targets(case)
    assert target.outcome == TargetOutcome.PAUSED
    assert target.covered_before_run == HOUR
    assert reload(case).response_due_at is None
    at(paris(2026, 3, 4, 16))
    services.case_reopen(case=reload(case), actor=requester, message="Not fixed.")
    [target] = targets(case)
    assert target.outcome == TargetOutcome.RUNNING
    # Three hours left: one on Wednesday, two on Thursday.
    assert target.due_at == paris(2026, 3, 5, 11)


def test_a_customer_marking_it_resolved_pauses_the_clock(requester, at):
    at(paris(2026, 3, 2, 10))
    case = open_case(requester)
    services.case_mark_resolved(case=case, customer=requester)
    assert targets(case)[0].outcome == TargetOutcome.PAUSED


def test_closing_stops_the_target(requester, at):
    at(paris(2026, 3, 2, 10))
    case = open_case(requester)
    services.case_close(case=case, actor=requester)
    [target] = targets(case)
    assert target.outcome == TargetOutcome.STOPPED
    assert reload(case).response_due_at is None


def test_the_sweep_closing_a_resolved_case_stops_its_paused_target(requester, engineer, at):
    at(paris(2026, 3, 2, 10))
    case = open_case(requester)
    services.case_assign(case=case, engineer=engineer)
    services.case_resolve(case=case, engineer=engineer)
    at(paris(2026, 3, 10, 10))
    assert [c.pk for c in close_stale_cases()] == [case.pk]
    assert targets(case)[0].outcome == TargetOutcome.STOPPED


def test_reopening_a_closed_case_starts_a_next_update(requester, engineer, at):
    case = answered_case(requester, engineer, at)
    services.case_close(case=case, actor=engineer)
    at(paris(2026, 3, 5, 10))
    services.case_reopen(case=reload(case), actor=requester)
    latest = targets(case)[-1]
    assert latest.kind == TargetKind.NEXT_UPDATE
    # Seven business hours on Thursday, the eighth on Friday morning.
    assert latest.due_at == paris(2026, 3, 6, 10)


def test_an_engineer_reopening_starts_no_target(requester, engineer, at):
    case = answered_case(requester, engineer, at)
    services.case_close(case=case, actor=requester)
    services.case_reopen(case=reload(case), actor=engineer)
    assert reload(case).response_due_at is None


def test_at_most_one_target_is_open_per_case(requester, engineer, at):
    case = answered_case(requester, engineer, at)
    for text in ("one", "two", "three"):
        services.case_reply(case=case, author=requester, body=text)
    assert ResponseTarget.objects.filter(case=case, outcome__in=["running", "paused"]).count() == 1


# --- Recomputing ------------------------------------------------------------------------


def test_p1_raised_at_night_on_a_plan_covering_p1_around_the_clock_runs_at_once(
    requester, engineer, at
):
    at(paris(2026, 3, 7, 22))  # Saturday night: a P3 waits for Monday
    case = open_case(requester)
    assert reload(case).response_due_at == paris(2026, 3, 9, 13)
    at(paris(2026, 3, 7, 22, 20))
    services.case_update_details(
        case=case, engineer=engineer, subject=case.subject, priority=Priority.P1
    )
    [target] = targets(case)
    assert (target.priority, target.coverage) == (Priority.P1, Coverage.ALWAYS)
    assert target.due_at == paris(2026, 3, 7, 23)
    entry = CaseEvent.objects.filter(case=case, transition="service_level").get()
    assert entry.reason.startswith("Priority changed: First response target 1 hour")
    assert entry.actor == engineer


def test_lowering_to_a_priority_without_target_stops_the_clock(requester, engineer, at):
    at(paris(2026, 3, 2, 10))
    case = open_case(requester)
    services.case_update_details(
        case=case, engineer=engineer, subject=case.subject, priority=Priority.P4
    )
    assert targets(case)[0].outcome == TargetOutcome.STOPPED
    assert reload(case).response_due_at is None
    assert "no first response target any more" in CaseEvent.objects.latest("pk").reason


def test_a_plan_change_recomputes_open_targets_with_history(requester, organisation, at):
    at(paris(2026, 3, 2, 10))
    case = open_case(requester)
    faster = Plan.objects.create(name="Faster", position=10)
    PlanTarget.objects.create(
        plan=faster,
        priority=Priority.P3,
        first_response=HOUR,
        next_update=HOUR,
        coverage=Coverage.ALWAYS,
    )
    organisation.plan = faster
    organisation.save()
    at(paris(2026, 3, 2, 10, 30))
    assert (
        service_levels.recompute_many(organisation_ids=[organisation.pk], because="Plan changed")
        == 1
    )
    assert reload(case).response_due_at == paris(2026, 3, 2, 11)
    entry = CaseEvent.objects.filter(case=case, transition="service_level").get()
    assert entry.reason.startswith("Plan changed: First response target 1 hour (Faster plan")
    # Nothing moved the second time: no new entry.
    assert service_levels.recompute_many(plan_ids=[faster.pk], because="Again") == 0
    assert CaseEvent.objects.filter(case=case, transition="service_level").count() == 1


def test_a_time_zone_change_moves_business_hours(requester, organisation, at):
    at(datetime(2026, 3, 2, 8, tzinfo=UTC))  # 09:00 in Paris
    case = open_case(requester)
    assert reload(case).response_due_at == paris(2026, 3, 2, 13)
    organisation.time_zone = "America/New_York"
    organisation.save()
    service_levels.recompute_many(organisation_ids=[organisation.pk], because="Time zone changed")
    new_york = ZoneInfo("America/New_York")
    assert reload(case).response_due_at == datetime(2026, 3, 2, 13, tzinfo=new_york)


def test_a_paused_target_keeps_its_pause_through_a_recompute(
    requester, engineer, organisation, at
):
    at(paris(2026, 3, 2, 10))
    case = open_case(requester)
    services.case_mark_resolved(case=case, customer=requester)
    PlanTarget.objects.filter(plan=organisation.plan, priority=Priority.P3).update(
        first_response=2 * HOUR
    )
    service_levels.recompute_many(plan_ids=[organisation.plan_id], because="Targets changed")
    [target] = targets(case)
    assert (target.outcome, target.target, target.due_at) == (
        TargetOutcome.PAUSED,
        2 * HOUR,
        None,
    )
    assert reload(case).response_due_at is None


def test_an_overdue_target_paused_or_stopped_stays_missed(requester, engineer, at):
    at(paris(2026, 3, 2, 10))
    resolved = open_case(requester)
    closed = open_case(requester)
    at(paris(2026, 3, 2, 15))  # both were due at 14:00; the beat has not run
    services.case_mark_resolved(case=resolved, customer=requester)
    services.case_close(case=closed, actor=requester)
    for case, outcome in ((resolved, TargetOutcome.PAUSED), (closed, TargetOutcome.STOPPED)):
        [target] = targets(case)
        assert (target.outcome, target.breached_at) == (outcome, paris(2026, 3, 2, 14))


def test_an_overdue_target_stopped_by_a_policy_change_stays_missed(
    requester, engineer, organisation, at
):
    at(paris(2026, 3, 2, 10))
    lowered, on_plan = open_case(requester), open_case(requester)
    at(paris(2026, 3, 2, 15))  # both were due at 14:00
    services.case_update_details(
        case=lowered, engineer=engineer, subject=lowered.subject, priority=Priority.P4
    )
    PlanTarget.objects.filter(plan=organisation.plan, priority=Priority.P3).delete()
    service_levels.recompute_many(plan_ids=[organisation.plan_id], because="Targets changed")
    for case in (lowered, on_plan):
        [target] = targets(case)
        assert (target.outcome, target.breached_at) == (
            TargetOutcome.STOPPED,
            paris(2026, 3, 2, 14),
        )
