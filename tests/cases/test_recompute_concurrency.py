"""A re-evaluation of many targets racing engineers' replies on the same cases
(PostgreSQL, one connection per thread): both finish, neither deadlocks, and every
case ends consistent."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection

from cases import invariants, service_levels, services
from cases.models import Coverage, Plan, PlanTarget, Priority, TargetOutcome
from tests.cases.test_case_concurrency import in_parallel
from tests.factories import EngineerFactory, OrganisationFactory, customer

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

HOUR = timedelta(hours=1)
CASES = 40
ROUNDS = 4


@pytest.fixture(autouse=True)
def _on_postgresql(settings):
    if connection.vendor != "postgresql":
        pytest.fail("These tests need PostgreSQL (row locks, real concurrency).")
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def test_a_re_evaluation_and_replies_on_its_cases_do_not_deadlock(monkeypatch):
    monkeypatch.setattr(service_levels, "RECOMPUTE_BATCH_SIZE", 7)
    plan = Plan.objects.create(name="Racing plan", position=9)
    target = PlanTarget.objects.create(
        plan=plan,
        priority=Priority.P2,
        first_response=HOUR,
        next_update=HOUR,
        coverage=Coverage.ALWAYS,
    )
    requester = customer(OrganisationFactory(plan=plan))
    engineer = EngineerFactory()
    cases = [
        services.case_open(
            requester=requester, subject=f"Case {n}", description="Down.", priority=Priority.P2
        )
        for n in range(CASES)
    ]

    def re_evaluate() -> int:
        moved = 0
        for round_ in range(ROUNDS):
            PlanTarget.objects.filter(pk=target.pk).update(
                first_response=HOUR + timedelta(minutes=round_ + 1)
            )
            moved += service_levels.recompute_many(plan_ids=[plan.pk], because="Targets changed")
        return moved

    def reply_to_each_in_reverse() -> int:
        # Highest ids first: against a batch working upwards, the worst order for locks.
        for case in reversed(cases):
            services.case_reply(case=case, author=engineer, body="Looking now.")
        return len(cases)

    outcomes = in_parallel(re_evaluate, reply_to_each_in_reverse)

    assert [outcome.error for outcome in outcomes] == [None, None]
    for case in cases:
        [first] = case.response_targets.all()
        assert first.outcome in (TargetOutcome.MET, TargetOutcome.MISSED)
    assert [v for v in invariants.find_violations() if v.rule == "service level"] == []
