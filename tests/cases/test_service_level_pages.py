"""The help centre's Case Priorities and Plan Comparison pages, drawn from the live policy."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from cases.models import Coverage, Plan, PlanTarget, Priority, PriorityLevel
from cases.presenters import duration_text
from tests.factories import EngineerFactory, OrganisationFactory, customer

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def seeded_policy(db):
    """The policy migration 0017 seeds; a flush by a transactional test empties it."""
    from importlib import import_module

    from django.apps import apps

    import_module("cases.migrations.0017_seed_service_levels").seed(apps, None)


PRIORITIES = "/help/case-priorities/"
PLANS = "/help/plan-comparison/"


def text_of(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


def test_the_seeded_policy_has_four_priorities_and_three_plans_with_a_default():
    assert list(PriorityLevel.objects.values_list("priority", flat=True)) == [1, 2, 3, 4]
    assert list(Plan.objects.values_list("name", flat=True)) == [
        "Standard",
        "Business",
        "Enterprise",
    ]
    assert Plan.objects.default().name == "Standard"
    assert PlanTarget.objects.count() == 12


def test_case_priorities_explains_each_priority_with_examples(client):
    page = text_of(client.get(PRIORITIES))
    for level in PriorityLevel.objects.all():
        assert level.get_priority_display() in page
        assert level.definition in page
        for example in level.example_list:
            assert example in page
    assert "Kubernetes" in page and "Terraform" in page and "ackup" in page


def test_plan_comparison_shows_every_plans_targets_and_features(client):
    page = text_of(client.get(PLANS))
    assert "Standard Business Enterprise" in page
    assert "First response: 15 minutes Next update: 1 hour 24×7" in page  # Enterprise P1
    assert "First response: 4 hours Next update: 8 hours Business hours" in page
    assert "Named contacts 3 10 Unlimited" in page


def test_a_change_in_the_admin_is_what_the_pages_say(client):
    target = PlanTarget.objects.get(plan__name="Enterprise", priority=Priority.P1)
    target.first_response = timedelta(minutes=30)
    target.save()
    level = PriorityLevel.objects.get(priority=Priority.P4)
    level.definition = "Anything that can wait a week."
    level.save()

    assert "First response: 30 minutes" in text_of(client.get(PLANS))
    assert "Anything that can wait a week." in text_of(client.get(PRIORITIES))


def test_a_plan_without_a_target_for_a_priority_says_so(client):
    PlanTarget.objects.filter(plan__name="Standard", priority=Priority.P4).delete()
    row = re.search(r'<tr data-priority="4">.*?</tr>', client.get(PLANS).content.decode(), re.S)
    assert "No target" in row.group(0)


def test_a_signed_in_customer_sees_their_plan_highlighted(client):
    enterprise = Plan.objects.get(name="Enterprise")
    client.force_login(customer(OrganisationFactory(plan=enterprise)))

    content = client.get(PLANS).content.decode()
    assert re.search(r'data-plan="Enterprise" class="own-plan">Enterprise <span', content)
    assert content.count('class="own-plan"') == 1 + 4 + 4  # header, targets, features
    # Theirs first (the column in view on a phone), then the others cheapest first.
    assert re.findall(r'<th scope="col" data-plan="([^"]+)"', content) == [
        "Enterprise",
        "Standard",
        "Business",
    ]
    page = text_of(client.get(PRIORITIES))
    assert "On your Enterprise plan: a first response within 15 minutes, around the clock" in page
    assert "On your Enterprise plan: a first response within 4 hours of business hours" in page


def test_an_organisation_without_a_plan_is_on_the_default_plan(client):
    client.force_login(customer(OrganisationFactory(plan=None)))
    assert "On your Standard plan" in text_of(client.get(PRIORITIES))
    assert 'data-plan="Standard" class="own-plan"' in client.get(PLANS).content.decode()


def test_visitors_and_engineers_see_no_plan_as_theirs(client):
    for signed_in in (None, EngineerFactory()):
        if signed_in:
            client.force_login(signed_in)
        for page in (PRIORITIES, PLANS):
            assert 'class="own-plan"' not in client.get(page).content.decode()
            assert "On your" not in text_of(client.get(page))
        order = re.findall(
            r'<th scope="col" data-plan="([^"]+)"', client.get(PLANS).content.decode()
        )
        assert order == ["Standard", "Business", "Enterprise"]


def test_previous_and_next_follow_the_help_centres_order(client):
    def links(path):
        content = client.get(path).content.decode()
        pager = re.search(r'<nav class="help-pager".*?</nav>', content, re.S).group(0)
        return re.findall(r'href="([^"]+)" rel="(prev|next)"', pager)

    assert links(PRIORITIES) == [("/help/case-statuses/", "next")]
    assert links("/help/case-statuses/") == [(PRIORITIES, "prev"), (PLANS, "next")]
    assert links(PLANS) == [("/help/case-statuses/", "prev")]


def test_targets_must_be_positive_and_one_per_plan_and_priority():
    plan = Plan.objects.get(name="Standard")
    bad = PlanTarget(
        plan=plan, priority=Priority.P1, first_response=timedelta(0), next_update=timedelta(0)
    )
    with pytest.raises(ValidationError):
        bad.full_clean()
    with transaction.atomic(), pytest.raises(IntegrityError):
        PlanTarget.objects.create(
            plan=Plan.objects.create(name="Tiny"),
            priority=Priority.P1,
            first_response=timedelta(0),
            next_update=timedelta(hours=1),
        )
    with transaction.atomic(), pytest.raises(IntegrityError):
        PlanTarget.objects.create(
            plan=plan,
            priority=Priority.P1,
            first_response=timedelta(hours=1),
            next_update=timedelta(hours=1),
            coverage=Coverage.ALWAYS,
        )


def test_only_one_plan_is_the_default():
    with transaction.atomic(), pytest.raises(IntegrityError):
        Plan.objects.create(name="Another default", is_default=True)


@pytest.mark.parametrize(
    ("minutes", "text"),
    [
        (1, "1 minute"),
        (15, "15 minutes"),
        (60, "1 hour"),
        (90, "1 hour 30 minutes"),
        (16 * 60, "16 hours"),
    ],
)
def test_durations_read_as_people_say_them(minutes, text):
    assert duration_text(timedelta(minutes=minutes)) == text


def test_staff_edit_the_policy_in_the_admin_and_engineers_only_work_cases(client):
    from portal.models import User

    admin_user = User.objects.create_superuser(email="boss@example.com", password="x" * 20)
    client.force_login(admin_user)
    plan = Plan.objects.get(name="Business")
    assert client.get("/admin/cases/plan/").status_code == 200
    page = client.get(f"/admin/cases/plan/{plan.pk}/change/").content.decode()
    assert "First response" in page and "Next update" in page
    assert client.get("/admin/cases/prioritylevel/").status_code == 200

    client.force_login(EngineerFactory())
    assert client.get("/admin/cases/plan/").status_code == 403
