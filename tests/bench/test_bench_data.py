"""The benchmark's data builder, at a tiny scale so that it cannot rot unnoticed."""

from collections import Counter

import pytest
from django.utils import timezone

from bench import data
from cases import selectors, service_levels, services
from cases.models import (
    OPEN_OUTCOMES,
    Case,
    CaseEvent,
    Message,
    ResponseTarget,
    Status,
    TargetKind,
    TargetOutcome,
)
from portal.models import Organisation, User

pytestmark = pytest.mark.django_db

TINY = data.Scale(
    cases=50,
    customers=5,
    organisations=2,
    big_customer_cases=20,
    messages_per_case=3,
    due_cases=6,
    long_thread_messages=10,
    engineers=2,
)


def due_ids() -> list[int]:
    return selectors.case_ids_due_for_auto_close(now=timezone.now(), limit=10_000)


def test_builds_every_status_the_big_customer_and_the_long_thread():
    dataset = data.build(TINY)

    assert Case.objects.count() == dataset.cases == 50
    assert set(Case.objects.values_list("status", flat=True)) == set(Status.values)
    big_customer = User.objects.get(pk=dataset.big_customer_id)
    assert big_customer.email == data.BIG_CUSTOMER_EMAIL
    assert big_customer.membership.organisation_id is not None
    assert Case.objects.filter(requester=big_customer).count() == 20
    assert {c.status for c in Case.objects.filter(requester=big_customer)} == set(Status.values)
    assert Message.objects.filter(case_id=dataset.long_thread_case_id).count() == 10
    assert Message.objects.count() == dataset.messages == 49 * 3 + 10
    assert CaseEvent.objects.filter(transition="open").count() == 50
    assert User.objects.get(pk=dataset.engineer_id).is_support_engineer


def test_the_due_cases_are_exactly_what_the_sweep_closes():
    dataset = data.build(TINY)

    assert len(due_ids()) == dataset.due_cases == 6
    assert len(services.close_stale_cases()) == 6
    assert due_ids() == []


def test_top_up_grows_the_table_with_a_fresh_batch_of_due_cases():
    data.build(TINY)
    services.close_stale_cases()

    added = data.top_up(total_cases=80, due_cases=4)

    assert added == 30
    assert Case.objects.count() == 80
    assert len(due_ids()) == 4


def test_the_portal_keeps_working_on_the_built_rows(client):
    """Ids were written explicitly: the sequences must have moved past them."""
    dataset = data.build(TINY)
    customer = User.objects.get(pk=dataset.big_customer_id)

    case = services.case_open(
        requester=customer, subject="After the build", description="Hi", priority=3
    )

    assert case.pk > dataset.long_thread_case_id
    client.force_login(customer)
    assert client.get("/cases/").status_code == 200
    long_case = Case.objects.get(pk=dataset.long_thread_case_id)
    assert client.get(long_case.get_absolute_url()).status_code == 200


# --- Response targets -------------------------------------------------------------------

SLA = data.Scale(
    cases=400,
    customers=14,
    organisations=7,
    big_customer_cases=20,
    messages_per_case=0,
    due_cases=10,
    long_thread_messages=0,
    engineers=2,
)


def test_organisations_are_spread_over_the_plans_time_zones_and_holidays():
    data.build(SLA)

    organisations = Organisation.objects.all()
    assert {o.service_plan.name for o in organisations} == {"Standard", "Business", "Enterprise"}
    assert organisations.filter(plan__isnull=True).exists()  # on the default plan
    assert len({o.time_zone for o in organisations}) == len(data.PLACES)
    assert organisations.exclude(holiday_country="").exists()


def test_each_case_not_closed_has_exactly_one_open_target_and_closed_ones_none():
    data.build(SLA)

    open_targets = ResponseTarget.objects.filter(outcome__in=OPEN_OUTCOMES)
    assert not open_targets.filter(case__status=Status.CLOSED).exists()
    per_case = Counter(open_targets.values_list("case_id", flat=True))
    not_closed = Case.objects.exclude(status=Status.CLOSED)
    assert set(per_case) == set(not_closed.values_list("pk", flat=True))
    assert max(per_case.values()) == 1


def test_a_running_target_is_what_the_case_shows_as_due():
    data.build(SLA)

    running = ResponseTarget.objects.filter(outcome=TargetOutcome.RUNNING)
    assert set(running.values_list("case__status", flat=True)) == {
        Status.NEW,
        Status.OPEN,
        Status.IN_PROGRESS,
    }
    for target in running.select_related("case"):
        assert target.due_at is not None
        assert target.case.response_due_at == target.due_at
    paused = ResponseTarget.objects.filter(outcome=TargetOutcome.PAUSED)
    assert set(paused.values_list("case__status", flat=True)) == {
        Status.PENDING_CUSTOMER,
        Status.RESOLVED,
    }
    assert not paused.filter(due_at__isnull=False).exists()


def test_due_times_are_those_the_service_level_clock_computes():
    """Recomputing every open target under unchanged terms moves none of them."""
    data.build(SLA)

    assert service_levels.recompute_many(because="Nothing changed") == 0
    assert not CaseEvent.objects.filter(transition="service_level").exists()


def test_some_targets_are_breached_some_due_soon_most_later():
    data.build(SLA)
    now = timezone.now()

    running = ResponseTarget.objects.filter(outcome=TargetOutcome.RUNNING)
    breached = running.filter(due_at__lte=now)
    assert breached.exists()
    assert not breached.filter(breached_at__isnull=True).exists()
    assert running.filter(warned_at__isnull=False, due_at__gt=now).exists()
    assert running.filter(warned_at__isnull=True).count() > running.count() / 2
    assert running.filter(kind=TargetKind.NEXT_UPDATE, case__first_response_at__isnull=False)
    assert not running.filter(kind=TargetKind.NEXT_UPDATE, case__first_response_at__isnull=True)


def test_closed_cases_keep_their_first_response_met_or_missed():
    data.build(SLA)

    closed = ResponseTarget.objects.filter(case__status=Status.CLOSED)
    assert set(closed.values_list("outcome", flat=True)) == {
        TargetOutcome.MET,
        TargetOutcome.MISSED,
    }
    assert closed.count() == Case.objects.filter(status=Status.CLOSED).count()
    assert not closed.filter(outcome=TargetOutcome.MISSED, breached_at__isnull=True).exists()
    assert not Case.objects.filter(status=Status.CLOSED, first_response_at__isnull=True)


def test_the_sweep_stops_the_due_cases_paused_targets_and_top_up_adds_targets():
    data.build(SLA)

    closed = services.close_stale_cases()
    assert not ResponseTarget.objects.filter(case__in=closed, outcome__in=OPEN_OUTCOMES).exists()
    data.top_up(total_cases=500, due_cases=5)

    not_closed = Case.objects.exclude(status=Status.CLOSED)
    open_targets = ResponseTarget.objects.filter(outcome__in=OPEN_OUTCOMES)
    assert open_targets.count() == not_closed.count()
    assert service_levels.recompute_many(because="Nothing changed") == 0
