"""The admin case list's rows are exactly the markup Django's own `result_list` makes.

`fast_result_list` plans each column once per page instead of once per cell (see
cases/templatetags/case_admin_list.py); these tests hold it to Django's output, row by
row, for every kind of row and with filters, search and sorting kept in the links.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib import admin
from django.contrib.admin.templatetags.admin_list import results
from django.test import RequestFactory
from django.utils import timezone

from cases import services
from cases.models import Case
from cases.templatetags.case_admin_list import fast_results
from tests.factories import CaseFactory, EngineerFactory, OrganisationFactory, customer

pytestmark = pytest.mark.django_db


@pytest.fixture
def varied_cases():
    engineer = EngineerFactory(full_name="Erin <b>Engineer</b>")
    organisation = OrganisationFactory(name="Acme & Sons")
    requester = customer(organisation, email="o'brien@example.com")
    cases = [
        CaseFactory(requester=requester),  # new, unassigned
        CaseFactory(requester=requester, open=True, engineer=engineer),
        CaseFactory(requester=requester, pending_customer=True, subject="<script>x</script>"),
        CaseFactory(requester=requester, resolved=True, priority=1),
        CaseFactory(requester=requester, closed=True),
    ]
    held = CaseFactory(pending_customer=True, pending_since=timezone.now() - timedelta(days=3))
    services.case_hold_auto_close(case=held, reason="The question email bounced")
    return [*cases, held]


def changelist(engineer, query: str = ""):
    request = RequestFactory().get(f"/admin/cases/case/{query}")
    request.user = engineer
    return admin.site._registry[Case].get_changelist_instance(request)


@pytest.mark.parametrize(
    "query",
    [
        "",
        "?status__exact=pending_customer",
        "?q=example.com&o=-3",
        "?assignee=unassigned&organisation=Acme&p=1",
        "?waiting_days=1&o=2.-9",
    ],
)
def test_fast_rows_are_djangos_rows(varied_cases, engineer, query):
    cl = changelist(engineer, query)

    expected = ["".join(str(cell) for cell in row) for row in results(cl)]
    actual = ["".join(str(cell) for cell in row) for row in fast_results(cl)]

    assert expected  # the query shows some rows
    assert actual == expected


def test_the_case_list_page_uses_the_fast_rows(client, engineer, varied_cases):
    client.force_login(engineer)

    response = client.get("/admin/cases/case/?status__exact=new")

    assert response.status_code == 200
    assert b'<th class="field-reference_link"><a href="/admin/cases/case/' in response.content
    assert b"_changelist_filters=status__exact%3Dnew" in response.content
    templates = [t.name for t in response.templates]
    assert "admin/cases/case/change_list.html" in templates


def test_a_popup_list_is_left_to_django(client, engineer, varied_cases):
    """Popups carry a per-row opener attribute the fast rows do not make."""
    client.force_login(engineer)

    response = client.get("/admin/cases/case/?_popup=1&_to_field=id")

    assert response.status_code == 200
    assert b"data-popup-opener=" in response.content
