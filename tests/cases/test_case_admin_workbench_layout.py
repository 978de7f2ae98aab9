"""The case page's Context panel, its HISTORY button and the list's columns."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from cases import selectors, services
from cases.admin.case import CaseAdmin
from cases.models import Case, CaseEvent, Rating
from tests.factories import (
    CaseFactory,
    EngineerFactory,
    MessageFactory,
    OrganisationFactory,
    customer,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def engineer_client(client, engineer):
    client.force_login(engineer)
    return client


def change_url(case: Case) -> str:
    return reverse("admin:cases_case_change", args=[case.pk])


def history_url(case: Case) -> str:
    return reverse("admin:cases_case_history", args=[case.pk])


def rate(case: Case, rating: str, comment: str = "", *, days_ago: int = 1) -> None:
    Case.objects.filter(pk=case.pk).update(
        rating=rating,
        rating_comment=comment,
        rated_at=timezone.now() - timedelta(days=days_ago),
    )


def populated_case():
    """A case whose customer and organisation have every kind of other case."""
    organisation = OrganisationFactory(name="Initech")
    requester = customer(organisation, email="peter@initech.example")
    colleague = customer(organisation, email="samir@initech.example")
    case = CaseFactory(requester=requester, in_progress=True, subject="The printer")
    own_open = [CaseFactory(requester=requester, open=True, subject=f"Own {n}") for n in range(3)]
    colleagues_open = [
        CaseFactory(requester=colleague, pending_customer=True, subject=f"Colleague {n}")
        for n in range(3)
    ]
    closed = [
        CaseFactory(requester=colleague, closed=True, subject=f"Closed {n}") for n in range(7)
    ]
    rate(closed[0], Rating.GOOD, "Quick and kind", days_ago=1)
    rate(closed[1], Rating.BAD, "Took a week", days_ago=2)
    other_organisation = CaseFactory(open=True, subject="Someone else's")
    return case, own_open, colleagues_open, closed, other_organisation


def test_context_lists_the_customers_and_organisations_other_cases(engineer_client):
    case, own_open, colleagues_open, closed, other_organisation = populated_case()

    response = engineer_client.get(change_url(case))

    context = response.context["context"]
    assert set(context.customer_open) == set(own_open)
    assert set(context.organisation_open) == set(colleagues_open)
    assert len(context.organisation_closed) == 5
    assert set(context.organisation_closed) <= set(closed)
    assert [rated.rating for rated in context.ratings] == [Rating.GOOD, Rating.BAD]
    content = response.content.decode()
    panel = content[content.index('class="wb-context') :]
    panel = panel[: panel.index("</section>")]
    for other in [*own_open, *colleagues_open, *context.organisation_closed]:
        assert f'href="{change_url(other)}"' in panel
    assert "samir@initech.example" in panel
    assert "Quick and kind" in panel and "Took a week" in panel
    plan = response.context["service_level"].plan
    assert f'<dd data-context="plan">{plan}</dd>' in panel
    # Never the case itself, never another organisation's.
    assert f'href="{change_url(case)}"' not in panel
    assert other_organisation.reference not in panel


def test_context_says_more_when_there_are_more_open_cases_than_it_lists(engineer_client):
    case = CaseFactory(open=True)
    for _ in range(selectors.CONTEXT_OPEN_CASES + 1):
        CaseFactory(requester=case.requester, open=True)

    context = selectors.case_context(case=case)

    assert len(context.customer_open) == selectors.CONTEXT_OPEN_CASES
    assert context.customer_open_more
    assert not context.organisation_open_more


def test_context_of_a_lone_case_says_there_is_nothing(engineer_client):
    case = CaseFactory(open=True)

    content = engineer_client.get(change_url(case)).content.decode()

    assert "No rating lately." in content
    assert content.count('<li class="wb-quiet">None.</li>') == 3


def test_case_page_with_a_full_context_panel_stays_within_fifteen_queries(
    engineer_client, engineer, django_assert_max_num_queries
):
    case, *_ = populated_case()
    services.case_add_internal_note(case=case, engineer=engineer, body="Checked the toner.")
    for _ in range(5):
        MessageFactory(case=case)
    # As a running process serves it: Django's content types are cached after the first page.
    engineer_client.get(change_url(case))

    # PostgreSQL reads the context panel in one query; SQLite, which cannot limit the
    # parts of a UNION, in two.
    with django_assert_max_num_queries(15 if connection.vendor == "postgresql" else 16):
        response = engineer_client.get(change_url(case))

    assert response.status_code == 200
    assert len(response.context["context"].organisation_closed) == 5


def test_history_button_shows_the_cases_own_history(engineer_client, engineer):
    case = CaseFactory(open=True, engineer=engineer)
    services.case_start_work(case=case, engineer=engineer)
    services.case_resolve(case=case, engineer=engineer, message="Fixed the DNS entry.")

    response = engineer_client.get(history_url(case))

    assert response.status_code == 200
    content = response.content.decode()
    assert "doesn’t have a change history" not in content
    transitions = list(CaseEvent.objects.filter(case=case).values_list("transition", flat=True))
    assert "start_work" in transitions and "resolve" in transitions
    for transition in transitions:
        assert f"<td>{transition}</td>" in content
    assert f'href="{change_url(case)}"' in content
    # The case page links to it.
    assert f'href="{history_url(case)}"' in engineer_client.get(change_url(case)).content.decode()


def test_history_of_another_case_or_no_case(engineer_client):
    case = CaseFactory(open=True)
    other = CaseFactory(open=True, subject="Unrelated outage")
    services.case_update_details(
        case=other, engineer=EngineerFactory(), subject="Renamed outage", priority=other.priority
    )

    content = engineer_client.get(history_url(case)).content.decode()

    assert "Renamed outage" not in content
    missing = engineer_client.get(reverse("admin:cases_case_history", args=[999_999]))
    assert missing.status_code == 302  # Django's answer: back to the admin with a message


def test_customers_never_reach_the_history(client):
    case = CaseFactory(open=True)
    client.force_login(case.requester)

    response = client.get(history_url(case))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_case_list_has_the_named_columns_in_order(engineer_client):
    CaseFactory(open=True)

    columns = [
        header.get("class_attrib", "")
        for header in engineer_client.get("/admin/cases/case/").context["result_headers"]
    ]

    assert list(CaseAdmin.list_display) == [
        "reference_link",
        "subject",
        "next_target",
        "customer",
        "organisation",
        "status",
        "priority",
        "assignee",
        "auto_close",
    ]
    for name in CaseAdmin.list_display:
        assert any(f"column-{name}" in column for column in columns)


def test_case_list_and_page_leave_out_the_app_sidebar(engineer_client):
    case = CaseFactory(open=True)

    for url in ("/admin/cases/case/", change_url(case), history_url(case)):
        response = engineer_client.get(url)
        assert response.context["is_nav_sidebar_enabled"] is False
        assert 'id="nav-sidebar"' not in response.content.decode()


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="the UNION of limited parts")
def test_context_is_one_query_on_postgresql(django_assert_num_queries):
    case, own_open, colleagues_open, *_ = populated_case()

    with django_assert_num_queries(1):
        context = selectors.case_context(case=case)

    assert set(context.customer_open) == set(own_open)
    assert [other.requester_email for other in context.organisation_open] == [
        "samir@initech.example"
    ] * len(colleagues_open)
