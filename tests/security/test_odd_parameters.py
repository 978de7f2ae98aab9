"""References, ids and filter values a person can type: odd ones get 404 or are ignored,
never a server error.

"²" is a digit to `str.isdigit()` but not to `int()`; "٣" is one to both; ids past
PostgreSQL's bigint and day counts past the calendar overflow. Routes come from the
resolver (see `tests.security.routes`), filters from the case admin itself.
"""

import pytest
from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.test import Client
from django.urls import resolve

from cases.models import Case, Notification
from tests.cases import email_webhooks as hooks
from tests.security.conftest import snapshot
from tests.security.routes import CSRF_EXEMPT_NAMESPACES, all_routes, concrete_path, portal_routes

pytestmark = pytest.mark.django_db

HUGE = "9" * 23
ODD_REFERENCES = [
    "CS-²",
    "²",
    "CS-٣",
    "٣",
    "CS-¹²³⁴",
    f"CS-{HUGE}",
    HUGE,
    "CS-0",
    "CS--1",
    "CS-1e3",
]
ODD_IDS = ["²", "٣", HUGE, "abc", "-1", "0"]
ODD_FILTER_VALUES = ["²", "٣", HUGE, "1000000", "abc", "-1", " ", "1.5"]


def no_error_client(user) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


def odd_paths(routes, valid: dict[str, object]):
    """Each route with one parameter at a time made odd, the others valid."""
    for route in routes:
        for name in route.parameters:
            if name not in ("reference", "attachment_id", "object_id", "participant_id"):
                continue
            for odd in ODD_REFERENCES if name == "reference" else ODD_IDS:
                path = concrete_path(route, {**valid, name: odd})
                if path is not None:
                    yield route, path


def test_every_case_route_answers_404_to_odd_references_and_ids(
    customer, victim_case, victim_attachment, victim_participant
):
    client = no_error_client(customer)
    valid = {
        "reference": victim_case.reference,
        "attachment_id": victim_attachment.pk,
        "participant_id": victim_participant.pk,
    }
    before = snapshot()
    checked = 0
    for route, path in odd_paths(portal_routes(), valid):
        for method in ("get", "post"):
            response = getattr(client, method)(path, {"body": "x", "confirm": "on"})
            assert response.status_code in (404, 405), f"{method} {path} ({route})"
            checked += 1
    assert checked > 100
    assert snapshot() == before


@pytest.mark.parametrize("query", ["²", "CS-²", "٣", HUGE, f"CS-{HUGE}", "CS-¹²"])
def test_my_cases_search_with_odd_numbers_finds_nothing(customer, victim_case, query):
    response = no_error_client(customer).get("/cases/", {"q": query})

    assert response.status_code == 200
    assert victim_case.reference.encode() not in response.content


def test_every_admin_route_with_an_id_answers_odd_ids_without_an_error(
    engineer, victim_case, victim_attachment
):
    client = no_error_client(engineer)
    valid = {
        "reference": victim_case.reference,
        "attachment_id": victim_attachment.pk,
        "object_id": victim_case.pk,
        "macro_id": 1,
        "content_type_id": ContentType.objects.get_for_model(Case).pk,
        "action": "resolve",
    }
    routes = [
        route
        for route in all_routes()
        if route.namespace == "admin" and {"object_id", "attachment_id"} & set(route.parameters)
    ]
    before = snapshot()
    for route, path in odd_paths(routes, valid):
        for method in ("get", "post"):
            response = getattr(client, method)(path, {"body": "x"})
            # Django's own change pages redirect to the index for a missing object; its
            # delete pages refuse before looking (nothing is ever deleted here).
            assert response.status_code in (302, 403, 404, 405), f"{method} {path} ({route})"
            ours = route.name in (
                "cases_case_attachment",
                "cases_case_workbench",
                "cases_case_macro_text",
                "cases_case_presence",
            )
            if ours and resolve(path).url_name == route.name:
                assert response.status_code in (404, 405), f"{method} {path}"
    assert snapshot() == before


@pytest.mark.parametrize("object_id", ["abc", "²", HUGE, "1.0"])
def test_admin_attachment_url_with_an_odd_case_id_is_not_found(
    engineer, victim_attachment, object_id
):
    path = f"/admin/cases/case/{object_id}/attachments/{victim_attachment.pk}/"

    assert no_error_client(engineer).get(path).status_code == 404


def case_admin_filter_parameters() -> list[str]:
    """The query parameter of each list filter of the case admin."""
    names = []
    for entry in admin.site.get_model_admin(Case).list_filter:
        if isinstance(entry, str):
            names += [f"{entry}__exact", f"{entry}__isnull"]
        else:
            names.append(entry.parameter_name)
    return names


@pytest.mark.parametrize("value", ODD_FILTER_VALUES)
def test_every_case_admin_filter_answers_odd_values_without_an_error(engineer, value):
    client = no_error_client(engineer)
    parameters = case_admin_filter_parameters()
    assert {"assignee", "organisation", "waiting_days", "status__exact"} <= set(parameters)
    for parameter in parameters:
        response = client.get("/admin/cases/case/", {parameter: value})
        where = f"?{parameter}={value!r}"
        if response.status_code == 302:
            # Django's answer to a value it cannot filter by: the list, unfiltered.
            assert response["Location"] == "/admin/cases/case/?e=1", where
        else:
            assert response.status_code == 200, where


def test_waiting_days_past_the_calendar_is_refused_like_other_bad_filters(engineer):
    response = no_error_client(engineer).get("/admin/cases/case/", {"waiting_days": "1000000"})

    assert response.status_code == 302
    assert response["Location"] == "/admin/cases/case/?e=1"


def test_huge_assignee_id_is_refused_like_other_bad_filters(engineer):
    response = no_error_client(engineer).get("/admin/cases/case/", {"assignee": HUGE})

    assert response["Location"] == "/admin/cases/case/?e=1"


@pytest.mark.parametrize("url", ["/admin/cases/case/", "/admin/cases/notification/"])
@pytest.mark.parametrize("query", ["²", "CS-²", HUGE, f"CS-{HUGE}"])
def test_admin_search_with_odd_numbers_answers_a_list(engineer, victim_case, url, query):
    response = no_error_client(engineer).get(url, {"q": query})

    assert response.status_code == 200


def test_delivery_event_naming_an_odd_notification_id_is_ignored(client, settings):
    hooks.configure(settings)
    for odd in ODD_IDS:
        payload = hooks.postmark_delivery(
            notification_id=odd, email="someone@example.com", message_id="unknown-id"
        )
        assert hooks.post_postmark_tracking(client, payload).status_code == 200
    assert not Notification.objects.exists()


def test_csrf_exempt_namespaces_are_not_swept_here():
    """The provider webhooks take no reference or id in their URLs."""
    for route in all_routes():
        if route.namespace in CSRF_EXEMPT_NAMESPACES:
            assert not {"reference", "attachment_id", "object_id"} & set(route.parameters)
