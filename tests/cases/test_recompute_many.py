"""Re-evaluating many open targets at once after the policy changed (`recompute_many`):
the same outcome, target by target, as recomputing each case on its own, over several
batches, with running, paused, warned and stopped targets and cases out of scope."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction

from cases import service_levels, services
from cases.models import (
    Case,
    CaseEvent,
    Coverage,
    Plan,
    PlanTarget,
    Priority,
    ResponseTarget,
    TargetOutcome,
)
from cases.services import check_service_levels
from tests.cases.test_service_level_clock import HOUR, open_case, paris
from tests.factories import EngineerFactory, OrganisationFactory, customer

pytestmark = pytest.mark.django_db


@pytest.fixture
def plan(db):
    """P1 around the clock (1 h / 2 h), P2 and P3 in business hours (4 h / 8 h)."""
    plan = Plan.objects.create(name="Tested", position=9)
    for priority, first, coverage in (
        (Priority.P1, HOUR, Coverage.ALWAYS),
        (Priority.P2, 4 * HOUR, Coverage.BUSINESS_HOURS),
        (Priority.P3, 4 * HOUR, Coverage.BUSINESS_HOURS),
    ):
        PlanTarget.objects.create(
            plan=plan, priority=priority, first_response=first, next_update=2 * first,
            coverage=coverage,
        )  # fmt: skip
    return plan


@pytest.fixture
def at(time_machine):
    def move(moment):
        time_machine.move_to(moment, tick=False)
        return moment

    return move


def state(case: Case) -> tuple:
    """What a re-evaluation may change of a case: its open target, due time, history."""
    target = ResponseTarget.objects.filter(case=case).latest("pk")
    reasons = list(
        CaseEvent.objects.filter(case=case, transition="service_level")
        .order_by("pk")
        .values_list("reason", "actor_kind", "from_status", "to_status")
    )
    return (
        target.plan_id,
        target.priority,
        target.coverage,
        target.target,
        target.due_at,
        target.warn_at,
        target.warned_at,
        target.outcome,
        target.ended_at,
        Case.objects.get(pk=case.pk).response_due_at,
        reasons,
    )


class Undo(Exception):
    pass


def one_by_one(cases: list[Case], because: str) -> dict[int, tuple]:
    """Each case recomputed on its own (`service_levels.recompute`), then undone."""
    seen = {}
    try:
        with transaction.atomic():
            for case in cases:
                case = Case.objects.select_related("organisation").get(pk=case.pk)
                service_levels.recompute(case, actor=None, because=because)
                seen[case.pk] = state(case)
            raise Undo
    except Undo:
        pass
    return seen


@pytest.fixture
def mixed_cases(plan, at):
    """Cases of two organisations (Paris and Tokyo) on the plan: running first responses
    at each priority, one paused (resolved), one whose warning went out, one with an
    engineer's reply and a customer's answer (a next update running)."""
    paris_org = OrganisationFactory(
        name="Acme Paris", plan=plan, time_zone="Europe/Paris", holiday_country="FR"
    )
    tokyo_org = OrganisationFactory(
        name="Acme Tokyo", plan=plan, time_zone="Asia/Tokyo", holiday_country="JP"
    )
    engineer = EngineerFactory()
    cases = []
    at(paris(2026, 3, 2, 9, 30))
    for organisation in (paris_org, tokyo_org):
        requester = customer(organisation)
        for priority in (Priority.P1, Priority.P2, Priority.P3, Priority.P3):
            cases.append(open_case(requester, priority=priority))
        resolved = open_case(requester)
        cases.append(resolved)
        answered = open_case(requester)
        cases.append(answered)
    at(paris(2026, 3, 2, 10))
    for case in cases[4::6]:
        services.case_mark_resolved(case=case, customer=case.requester)
    for case in cases[5::6]:
        services.case_reply(case=case, author=engineer, body="Looking.")
        services.case_reply(case=case, author=case.requester, body="Thanks, here.")
    at(paris(2026, 3, 2, 12, 30))  # past the P3 warning at 75 % of four hours
    check_service_levels()
    at(paris(2026, 3, 2, 12, 45))
    return cases


def test_lengthened_targets_move_every_open_target_as_one_by_one(mixed_cases, plan, monkeypatch):
    warned = ResponseTarget.objects.filter(warned_at__isnull=False)
    assert warned.exists()
    PlanTarget.objects.filter(plan=plan).update(first_response=5 * HOUR, next_update=9 * HOUR)
    expected = one_by_one(mixed_cases, "Targets changed")
    monkeypatch.setattr(service_levels, "RECOMPUTE_BATCH_SIZE", 3)

    moved = service_levels.recompute_many(plan_ids=[plan.pk], because="Targets changed")

    assert moved == len(mixed_cases)
    assert {case.pk: state(case) for case in mixed_cases} == expected
    # A warning already sent keeps its time; a paused target keeps no due time.
    for target in warned:
        assert target.warn_at < target.warned_at + timedelta(seconds=1)
    paused = ResponseTarget.objects.get(case=mixed_cases[4], outcome=TargetOutcome.PAUSED)
    assert (paused.target, paused.due_at) == (5 * HOUR, None)


def test_a_priority_losing_its_target_stops_it_as_one_by_one(mixed_cases, plan, monkeypatch):
    PlanTarget.objects.filter(plan=plan, priority=Priority.P2).delete()
    expected = one_by_one(mixed_cases, "Targets changed")
    monkeypatch.setattr(service_levels, "RECOMPUTE_BATCH_SIZE", 4)

    moved = service_levels.recompute_many(plan_ids=[plan.pk], because="Targets changed")

    assert moved == 2  # the two P2 cases; nothing else changed
    assert {case.pk: state(case) for case in mixed_cases} == expected
    for case in mixed_cases[1::6]:
        assert Case.objects.get(pk=case.pk).response_due_at is None
        [entry] = CaseEvent.objects.filter(case=case, transition="service_level")
        assert entry.reason == "Targets changed: no first response target any more"


def test_a_time_zone_change_moves_only_that_organisations_targets(mixed_cases, monkeypatch):
    tokyo = mixed_cases[6].organisation
    tokyo.time_zone = "Pacific/Auckland"
    tokyo.save()
    expected = one_by_one(mixed_cases, "Time zone changed")
    monkeypatch.setattr(service_levels, "RECOMPUTE_BATCH_SIZE", 2)

    moved = service_levels.recompute_many(organisation_ids=[tokyo.pk], because="Time zone changed")

    # Tokyo's business-hours targets, running or paused (the 24x7 P1 is unmoved; the
    # paused one's terms are unchanged).
    assert moved == 4
    assert {case.pk: state(case) for case in mixed_cases} == expected
    case = Case.objects.get(pk=mixed_cases[7].pk)
    assert case.response_due_at.astimezone(ZoneInfo("Pacific/Auckland")).hour == 13
    # Paris untouched.
    assert not CaseEvent.objects.filter(
        case__organisation=mixed_cases[0].organisation, transition="service_level"
    ).exists()


def test_nothing_changed_moves_nothing(mixed_cases, plan):
    before = {case.pk: state(case) for case in mixed_cases}
    assert service_levels.recompute_many(because="Nothing changed") == 0
    assert {case.pk: state(case) for case in mixed_cases} == before
