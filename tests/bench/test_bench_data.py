"""The benchmark's data builder, at a tiny scale so that it cannot rot unnoticed."""

import pytest
from django.utils import timezone

from bench import data
from cases import selectors, services
from cases.models import Case, CaseEvent, Message, Status
from portal.models import User

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
