"""Pages shown to a signed-in person are stored by no browser cache or proxy.

Every portal route comes from the resolver (see `tests.security.routes`), so a page added
later is covered without being listed here.
"""

import pytest
from django.contrib.contenttypes.models import ContentType
from django.test import Client

from cases.models import Case
from tests.security.routes import all_routes, concrete_path, portal_routes

pytestmark = pytest.mark.django_db


def assert_not_stored(response, where: str) -> None:
    directives = {d.strip() for d in response.get("Cache-Control", "").split(",")}
    assert {"no-store", "private"} <= directives, f"{where}: {response.get('Cache-Control')}"


def test_every_portal_page_is_private_and_not_stored_when_signed_in(
    client, customer, victim_case, victim_attachment, victim_participant
):
    client.force_login(customer)
    values = {
        "reference": victim_case.reference,
        "attachment_id": victim_attachment.pk,
        "participant_id": victim_participant.pk,
        "action": "confirm",
        "token": "forged",
    }
    checked = set()
    for route in portal_routes():
        path = concrete_path(route, values)
        response = client.get(path)
        # Action URLs answer GET with 405, a forged email link 400: covered too.
        assert response.status_code in (200, 405, 400), f"GET {path}"
        assert_not_stored(response, f"GET {path} ({route})")
        checked.add(str(route))
    assert {"cases:list", "cases:detail", "cases:new", "cases:attachment"} <= checked


def test_action_answers_and_error_pages_are_not_stored_either(client, customer, victim_case):
    client.force_login(customer)

    reply = client.post(f"{victim_case.get_absolute_url()}reply/", {"body": "Here are the logs."})
    missing = client.get("/cases/CS-999999/")

    assert reply.status_code == 302
    assert_not_stored(reply, "reply")
    assert missing.status_code == 404
    assert_not_stored(missing, "not found")


def test_every_admin_page_is_not_stored(engineer, victim_case, victim_attachment):
    client = Client(raise_request_exception=False)
    client.force_login(engineer)
    values = {
        "object_id": victim_case.pk,
        "attachment_id": victim_attachment.pk,
        "macro_id": 1,
        "content_type_id": ContentType.objects.get_for_model(Case).pk,
        "id": engineer.pk,
        "action": "resolve",
    }
    checked = 0
    for route in all_routes():
        if route.namespace != "admin" or route.is_regex:
            continue
        path = concrete_path(route, values)
        response = client.get(path)
        assert_not_stored(response, f"GET {path} ({route}) -> {response.status_code}")
        checked += 1
    assert checked > 20


def test_public_help_page_stays_cacheable_for_visitors(client):
    response = client.get("/help/case-statuses/")

    assert response.status_code == 200
    assert "no-store" not in response.get("Cache-Control", "")


def test_email_link_pages_are_not_stored_even_for_visitors(client, victim_case):
    # The token in the URL stands for the customer: no shared cache may keep the page.
    response = client.get("/cases/link/confirm/forged/")
    assert response.status_code == 400
    assert_not_stored(response, "GET /cases/link/confirm/forged/ (anonymous)")
