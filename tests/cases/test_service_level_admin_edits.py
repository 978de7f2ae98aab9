"""Staff change an organisation or a plan through the real admin forms: the open cases'
due times move and their history says why (time travel; tasks run eagerly)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from cases import services
from cases.models import Case, CaseEvent, Plan, Priority
from tests.factories import OrganisationFactory, UserFactory, customer, plan_with_targets

pytestmark = pytest.mark.django_db

HOUR = timedelta(hours=1)
PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def make_plan(name: str, p1_first: timedelta) -> Plan:
    """P1 around the clock (`p1_first`, then twice that), P3 in business hours (4 h)."""
    return plan_with_targets(name, position=20, p1_first=p1_first)


@pytest.fixture
def gold(db):
    return make_plan("Gold", HOUR)


@pytest.fixture
def organisation(gold):
    return OrganisationFactory(
        name="Acme Paris", plan=gold, time_zone="Europe/Paris", holiday_country="FR"
    )


def opened(organisation, priority) -> Case:
    case = services.case_open(
        requester=customer(organisation),
        subject="Cluster down",
        description="Nodes NotReady.",
        priority=priority,
    )
    return Case.objects.get(pk=case.pk)


def form_data(response) -> dict:
    """What the change page's form would post unchanged: the form and its inlines."""
    data = {}

    def add(form) -> None:
        for name, field in form.fields.items():
            value = field.prepare_value(form[name].value())
            if isinstance(value, bool):
                if value:
                    data[form.add_prefix(name)] = "on"
            elif value is not None:
                data[form.add_prefix(name)] = value

    add(response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        add(inline.formset.management_form)
        for form in inline.formset.forms:
            add(form)
    return data


def post_change(client, obj, captured, **changes) -> None:
    url = reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])
    data = {**form_data(client.get(url)), **changes}
    with captured(execute=True):
        response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors


def service_level_entries(case: Case) -> list[str]:
    return list(
        CaseEvent.objects.filter(case=case, transition="service_level")
        .order_by("pk")
        .values_list("reason", flat=True)
    )


def test_moving_an_organisation_to_another_plan_recomputes_its_open_cases(
    admin_client, organisation, time_machine, django_capture_on_commit_callbacks
):
    time_machine.move_to(datetime(2026, 3, 2, 10, tzinfo=UTC), tick=False)
    case = opened(organisation, Priority.P1)
    assert case.response_due_at == datetime(2026, 3, 2, 11, tzinfo=UTC)
    platinum = make_plan("Platinum", timedelta(minutes=15))

    time_machine.move_to(datetime(2026, 3, 2, 10, 5, tzinfo=UTC), tick=False)
    post_change(admin_client, organisation, django_capture_on_commit_callbacks, plan=platinum.pk)

    case.refresh_from_db()
    # From the target's own start under the new terms: 10:00 plus 15 minutes.
    assert case.response_due_at == datetime(2026, 3, 2, 10, 15, tzinfo=UTC)
    assert service_level_entries(case) == [
        "Plan of Acme Paris changed: First response target 15 minutes "
        "(Platinum plan, P1 Critical, 24×7), due 2 Mar 2026, 10:15 UTC"
    ]


def test_a_new_time_zone_moves_business_hours_targets(
    admin_client, organisation, time_machine, django_capture_on_commit_callbacks
):
    # Monday 10:00 in Paris: four business hours, due 14:00 Paris (13:00 UTC).
    time_machine.move_to(datetime(2026, 3, 2, 10, tzinfo=PARIS), tick=False)
    case = opened(organisation, Priority.P3)
    assert case.response_due_at == datetime(2026, 3, 2, 14, tzinfo=PARIS)

    post_change(
        admin_client,
        organisation,
        django_capture_on_commit_callbacks,
        time_zone="America/New_York",
        holiday_country="US",
    )

    case.refresh_from_db()
    # It started at 04:00 in New York: business hours there run 09:00 to 13:00.
    new_york = ZoneInfo("America/New_York")
    assert case.response_due_at == datetime(2026, 3, 2, 13, tzinfo=new_york)
    [entry] = service_level_entries(case)
    assert entry.startswith("Time zone and Holidays of Acme Paris changed: First response")
    assert entry.endswith("due 2 Mar 2026, 18:00 UTC")


def test_an_organisation_edit_that_leaves_the_clock_alone_writes_no_history(
    admin_client, organisation, time_machine, django_capture_on_commit_callbacks
):
    time_machine.move_to(datetime(2026, 3, 2, 10, tzinfo=UTC), tick=False)
    case = opened(organisation, Priority.P1)
    post_change(admin_client, organisation, django_capture_on_commit_callbacks, name="Acme SAS")
    case.refresh_from_db()
    assert case.response_due_at == datetime(2026, 3, 2, 11, tzinfo=UTC)
    assert service_level_entries(case) == []


def test_changing_a_target_in_the_plans_inline_recomputes_the_plans_cases(
    admin_client, gold, organisation, time_machine, django_capture_on_commit_callbacks
):
    time_machine.move_to(datetime(2026, 3, 2, 10, tzinfo=UTC), tick=False)
    case = opened(organisation, Priority.P1)
    other = opened(OrganisationFactory(plan=make_plan("Silver", HOUR)), Priority.P1)
    p1 = gold.targets.get(priority=Priority.P1)
    index = list(gold.targets.order_by("priority")).index(p1)

    post_change(
        admin_client,
        gold,
        django_capture_on_commit_callbacks,
        **{f"targets-{index}-first_response": "00:30:00"},
    )

    p1.refresh_from_db()
    assert p1.first_response == timedelta(minutes=30)
    case.refresh_from_db()
    assert case.response_due_at == datetime(2026, 3, 2, 10, 30, tzinfo=UTC)
    assert service_level_entries(case) == [
        "The Gold plan's targets changed: First response target 30 minutes "
        "(Gold plan, P1 Critical, 24×7), due 2 Mar 2026, 10:30 UTC"
    ]
    # A case on another plan keeps its due time and has nothing new in its history.
    other.refresh_from_db()
    assert other.response_due_at == datetime(2026, 3, 2, 11, tzinfo=UTC)
    assert service_level_entries(other) == []
