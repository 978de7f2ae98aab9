"""Two beats run the service-level check every second while targets come up for their
warning and breach, and a worker is killed mid-send: each warning and escalation is
queued once and sent once (or resent once, flagged), one history entry per breach."""

import re
from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from cases import services
from cases.models import (
    Case,
    CaseEvent,
    Coverage,
    Notification,
    NotificationKind,
    NotificationState,
    Plan,
    PlanTarget,
    Priority,
    ResponseTarget,
)
from tests.factories import EngineerFactory, OrganisationFactory, customer
from tests.faults.conftest import wait_for

# Kept together on one xdist worker where xdist can; each worker has its own Redis port.
pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.faults,
    pytest.mark.postgres,
    pytest.mark.xdist_group("faults"),
]

ONCALL = "oncall@support.example"
TARGETS = 8
WARNING = NotificationKind.SERVICE_LEVEL_WARNING
BREACHED = NotificationKind.SERVICE_LEVEL_BREACHED
CHECK_DONE = re.compile(r"Task cases\.tasks\.check_service_levels_task\[[^\]]+\] succeeded")


def open_cases(engineer) -> list[Case]:
    # Transactional tests flush the plans the migrations seeded: make our own.
    plan = Plan.objects.create(name="Faults", position=9)
    PlanTarget.objects.create(
        plan=plan,
        priority=Priority.P2,
        first_response=timedelta(hours=1),
        next_update=timedelta(hours=1),
        coverage=Coverage.ALWAYS,
    )
    organisation = OrganisationFactory(plan=plan)
    cases = []
    for n in range(TARGETS):
        case = services.case_open(
            requester=customer(organisation),
            subject=f"Export fails ({n})",
            description="Error 42.",
            priority=Priority.P2,
        )
        if n % 2:
            case = services.case_assign(case=case, engineer=engineer)
        cases.append(case)
    return cases


def warn_and_fall_due_soon(cases: list[Case]) -> None:
    """Each target is warned a few seconds from now and falls due eight seconds later,
    one after another, so that they come up while the beats are running."""
    now = timezone.now()
    for n, case in enumerate(cases):
        warn_at = now + timedelta(seconds=4 + 2 * n)
        due_at = warn_at + timedelta(seconds=8)
        ResponseTarget.objects.filter(case=case).update(warn_at=warn_at, due_at=due_at)


def test_two_beats_and_a_killed_worker_warn_and_escalate_each_target_once(
    cluster, invariants_hold
):
    engineer = EngineerFactory()
    cases = open_cases(engineer)

    # Every process: on-call address set, the check every second, the relay every second
    # taking back rows left "sending" for five seconds (a worker that died).
    common = {
        "ONCALL_EMAIL": ONCALL,
        "SERVICE_LEVEL_CHECK_INTERVAL_SECONDS": "1",
        "NOTIFICATION_RELAY_INTERVAL_SECONDS": "1",
        "NOTIFICATION_RELAY_GRACE_SECONDS": "2",
        "NOTIFICATION_STALE_SENDING_SECONDS": "5",
    }
    # Each send on the first worker takes a second, so the kill lands inside one.
    doomed = cluster.worker("worker1", FAULTS_EMAIL_DELAY="1.0", **common)
    survivor = cluster.worker("worker2", FAULTS_EMAIL_DELAY="0.1", **common)
    warn_and_fall_due_soon(cases)
    beats = [cluster.beat("beat1", **common), cluster.beat("beat2", **common)]

    def alert_in_flight_on_doomed():
        sent = {entry["notification_id"] for entry in cluster.mail("sent")}
        in_flight = [
            entry["notification_id"]
            for entry in cluster.mail("start")
            if entry["pid"] == doomed.pid
            and "Response target" in entry["subject"]
            and entry["notification_id"] not in sent
        ]
        return in_flight or None

    victim_id = wait_for(alert_in_flight_on_doomed, timeout=120, what="an alert in flight")[0]
    doomed.kill()
    victim = Notification.objects.get(pk=victim_id)
    assert victim.state == NotificationState.SENDING

    target_ids = list(ResponseTarget.objects.filter(case__in=cases).values_list("pk", flat=True))
    wait_for(
        lambda: (
            ResponseTarget.objects.filter(pk__in=target_ids, breached_at__isnull=False).count()
            == TARGETS
        ),
        timeout=120,
        what="every target to breach",
    )
    wait_for(
        lambda: not Notification.objects.exclude(state=NotificationState.SENT).exists(),
        timeout=120,
        what="every email sent",
    )
    cluster.stop_all()

    # Both beats asked for the check, and it ran many times over.
    for beat in beats:
        assert "Sending due task check-service-levels" in beat.output(), beat.output()
    assert len(CHECK_DONE.findall(survivor.output() + doomed.output())) >= 10

    # One escalation per target and recipient (on-call, and the assignee if any), one
    # history entry per breach; at most one warning per target (none for one first seen
    # past its due time), and exactly one for each target marked warned.
    for case in cases:
        target = ResponseTarget.objects.get(case=case)
        assert target.breached_at == target.due_at
        escalated = Counter(
            Notification.objects.filter(response_target=target, kind=BREACHED).values_list(
                "to_email", flat=True
            )
        )
        expected = {ONCALL: 1, **({engineer.email: 1} if case.assignee_id else {})}
        assert escalated == Counter(expected), case.reference
        assert CaseEvent.objects.filter(case=case, transition="service_level_breach").count() == 1
        warnings = list(
            Notification.objects.filter(response_target=target, kind=WARNING).values_list(
                "to_email", flat=True
            )
        )
        assert warnings == (
            [engineer.email if case.assignee_id else ONCALL] if target.warned_at else []
        )
    assert Notification.objects.filter(kind=WARNING).count() >= TARGETS // 2

    # Sent once each; twice only for a row whose worker died between the provider's
    # accept and our record, and then the row says so.
    sends = Counter(entry["notification_id"] for entry in cluster.mail("sent"))
    for notification in Notification.objects.all():
        count = sends[notification.pk]
        assert count == 1 or (count == 2 and notification.possible_duplicate), (
            notification.pk,
            notification.kind,
            count,
        )
    victim.refresh_from_db()
    assert victim.possible_duplicate
    assert victim.attempts == 2
    invariants_hold()
