"""Service-level checks in real parallel transactions (PostgreSQL, one connection per
thread): two runs at once warn and escalate each target once, and a reply in flight
is never escalated behind its back."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from cases import services
from cases.models import (
    CaseEvent,
    Coverage,
    Notification,
    NotificationKind,
    Plan,
    PlanTarget,
    Priority,
    ResponseTarget,
    TargetOutcome,
)
from cases.services import check_service_levels
from tests.cases.test_case_concurrency import TIMEOUT, in_parallel, in_thread
from tests.factories import EngineerFactory, OrganisationFactory, customer

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

HOUR = timedelta(hours=1)
REPETITIONS = 10


@pytest.fixture(autouse=True)
def _on_postgresql(settings):
    if connection.vendor != "postgresql":
        pytest.fail("These tests need PostgreSQL (row locks, real concurrency).")
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.ONCALL_EMAIL = "oncall@support.example"


@pytest.fixture
def requester():
    # Transactional tests flush the plans the migrations seeded: make our own.
    plan = Plan.objects.create(name="Around the clock test", position=9)
    PlanTarget.objects.create(
        plan=plan,
        priority=Priority.P2,
        first_response=HOUR,
        next_update=HOUR,
        coverage=Coverage.ALWAYS,
    )
    return customer(OrganisationFactory(plan=plan))


def open_case(requester, engineer=None):
    case = services.case_open(
        requester=requester, subject="Export fails", description="Error 42.", priority=2
    )
    return services.case_assign(case=case, engineer=engineer) if engineer else case


def move_target(case, *, started_ago: timedelta) -> ResponseTarget:
    """As if the case had been opened `started_ago` (warning at 45 min, due at 1 h)."""
    start = timezone.now() - started_ago
    ResponseTarget.objects.filter(case=case).update(
        started_at=start,
        run_started_at=start,
        warn_at=start + 0.75 * HOUR,
        due_at=start + HOUR,
    )
    return ResponseTarget.objects.get(case=case)


def test_two_runs_at_once_warn_and_escalate_each_target_once(requester):
    engineer = EngineerFactory()
    warnable = [open_case(requester, engineer if n % 2 else None) for n in range(15)]
    breached = [open_case(requester, engineer if n % 2 else None) for n in range(15)]
    for case in warnable:
        move_target(case, started_ago=timedelta(minutes=50))
    for case in breached:
        move_target(case, started_ago=2 * HOUR)

    first, second = in_parallel(
        lambda: check_service_levels(batch_size=4), lambda: check_service_levels(batch_size=4)
    )

    assert first.error is None, first.error
    assert second.error is None, second.error
    assert first.value.warned + second.value.warned == 15
    assert first.value.breached + second.value.breached == 15
    warnings = Counter(
        Notification.objects.filter(kind=NotificationKind.SERVICE_LEVEL_WARNING).values_list(
            "case_id", flat=True
        )
    )
    assert warnings == Counter({case.pk: 1 for case in warnable})
    escalations = Counter(
        Notification.objects.filter(kind=NotificationKind.SERVICE_LEVEL_BREACHED).values_list(
            "case_id", flat=True
        )
    )
    # The on-call address, and the assignee where there is one.
    assert escalations == Counter({case.pk: 2 if case.assignee_id else 1 for case in breached})
    entries = Counter(
        CaseEvent.objects.filter(transition="service_level_breach").values_list(
            "case_id", flat=True
        )
    )
    assert entries == Counter({case.pk: 1 for case in breached})
    assert check_service_levels() == services.ServiceLevelCheck(warned=0, breached=0)


def test_the_check_skips_a_target_whose_reply_is_in_flight(requester, time_machine):
    engineer = EngineerFactory()
    case = open_case(requester, engineer)
    target = move_target(case, started_ago=HOUR - timedelta(seconds=30))
    reply_written = threading.Event()
    check_done = threading.Event()

    def reply_in_time():
        with transaction.atomic():
            services.case_reply(case=case, author=engineer, body="Found it.")
            reply_written.set()
            # Hold the case lock, uncommitted, while the check runs past the due time.
            assert check_done.wait(TIMEOUT)

    replier, replied = in_thread(reply_in_time)
    assert reply_written.wait(TIMEOUT)
    time_machine.move_to(target.due_at + timedelta(minutes=1), tick=False)
    checker, checked = in_thread(check_service_levels)
    checker.join(TIMEOUT)
    assert not checker.is_alive(), "the check waited for a locked case instead of skipping it"
    check_done.set()
    replier.join(TIMEOUT)

    assert replied.error is None, replied.error
    assert checked.error is None, checked.error
    assert checked.value == services.ServiceLevelCheck(warned=0, breached=0)
    # The reply was in time: met, and the next run has nothing to escalate.
    assert ResponseTarget.objects.get(pk=target.pk).outcome == TargetOutcome.MET
    assert check_service_levels() == services.ServiceLevelCheck(warned=0, breached=0)
    assert not Notification.objects.filter(kind=NotificationKind.SERVICE_LEVEL_BREACHED).exists()
    assert not CaseEvent.objects.filter(transition="service_level_breach").exists()


def test_a_late_reply_racing_the_check_is_missed_once_and_escalated_at_most_once(requester):
    engineer = EngineerFactory()
    outcomes = Counter()
    for attempt in range(REPETITIONS):
        case = open_case(requester, engineer)
        due = move_target(case, started_ago=HOUR + timedelta(minutes=1)).due_at

        reply, check = in_parallel(
            lambda case=case, attempt=attempt: services.case_reply(
                case=case, author=engineer, body=f"Sorry for the wait ({attempt})."
            ),
            check_service_levels,
        )

        assert reply.error is None, reply.error
        assert check.error is None, check.error
        target = ResponseTarget.objects.get(case=case)
        # Whoever won, the target is missed and breached at its due time.
        assert (target.outcome, target.breached_at) == (TargetOutcome.MISSED, due)
        entries = CaseEvent.objects.filter(case=case, transition="service_level_breach").count()
        escalations = Notification.objects.filter(
            case=case, kind=NotificationKind.SERVICE_LEVEL_BREACHED
        ).count()
        assert (entries, escalations) in {(0, 0), (1, 2)}
        outcomes["check first" if entries else "reply first"] += 1
    assert sum(outcomes.values()) == REPETITIONS
