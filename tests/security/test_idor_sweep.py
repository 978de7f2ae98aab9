"""Every portal URL, as anyone but the case's customer: 404 or the login page, never data.

Routes come from the resolver (see `tests.security.routes`): cases:*, help:* and the
attachment downloads, with every HTTP method a browser or a script might try.
"""

import pytest
from django.test import Client

from tests.security.conftest import snapshot
from tests.security.routes import concrete_path, portal_routes

pytestmark = pytest.mark.django_db

SECRETS = ("Victim's secret subject", "private description", "victim private log line", "config.")
POST_DATA = {
    "body": "Injected reply",
    "message": "Injected",
    "decision": "approve",
    "comment": "yes",
    "confirm": "on",
    "subject": "Injected",
    "description": "Injected",
    "priority": "3",
    # Sharing the case: with the attacker themselves, or anyone.
    "email": "colleague@example.com",
}


def assert_no_data(response, route, who):
    content = b"".join(response.streaming_content) if response.streaming else response.content
    for secret in SECRETS:
        assert secret.encode() not in content, f"{who} saw {secret!r} through {route}"


def hostile_paths(victim_case, victim_attachment, outsider_case, victim_participant):
    """(route, path) for every portal route aimed at the victim's case."""
    paths = []
    for route in portal_routes():
        values = {
            "reference": victim_case.reference,
            "attachment_id": victim_attachment.pk,
            "participant_id": victim_participant.pk,
            # A signed email link works without signing in: a forged one is refused.
            "action": "confirm",
            "token": "forged",
        }
        paths.append((route, concrete_path(route, values)))
        if "attachment_id" in route.parameters:
            # The victim's file through the attacker's own case.
            own = {"reference": outsider_case.reference, "attachment_id": victim_attachment.pk}
            paths.append((route, concrete_path(route, own)))
        if "participant_id" in route.parameters:
            # Removing the victim's colleague through the attacker's own case.
            own = {"reference": outsider_case.reference, "participant_id": victim_participant.pk}
            paths.append((route, concrete_path(route, own)))
    return paths


def test_sweep_covers_every_portal_route():
    names = {str(route) for route in portal_routes()}
    # The sweep reads the resolver; this only proves it found the pages we know of.
    assert {"cases:list", "cases:detail", "cases:reply", "cases:attachment"} <= names
    assert {"cases:add_participant", "cases:remove_participant"} <= names
    assert "help:case_statuses" in names


@pytest.mark.parametrize("who", ["anonymous", "colleague", "outsider"])
def test_nobody_but_the_customer_reaches_a_case(
    who, victim_case, victim_attachment, outsider_case, victim_participant, colleague, stranger
):
    client = Client()
    if who != "anonymous":
        client.force_login({"colleague": colleague, "outsider": stranger}[who])
    before = snapshot()
    for route, path in hostile_paths(
        victim_case, victim_attachment, outsider_case, victim_participant
    ):
        targets_case = "reference" in route.parameters
        for method in ("get", "post", "put", "delete"):
            if method == "post" and not targets_case and who != "anonymous":
                continue  # e.g. opening a case of one's own: not someone else's data
            response = getattr(client, method)(path, POST_DATA if method == "post" else None)
            where = f"{method.upper()} {path} ({route})"
            assert_no_data(response, where, who)
            if route.name in ("email_action", "unsubscribe"):
                assert response.status_code in (400, 405), (where, response.status_code)
            elif who == "anonymous":
                if response.status_code in (301, 302):
                    assert response["Location"].startswith("/accounts/login/"), where
                else:
                    # Public pages (help) and method refusals carry nothing private.
                    assert response.status_code in (200, 405), where
            elif targets_case:
                assert response.status_code in (404, 405), (where, response.status_code)
            else:
                assert response.status_code in (200, 405), where
    assert snapshot() == before


def test_the_customer_does_see_their_case(client, customer, victim_case, victim_attachment):
    """The sweep's 404s are meaningful: the same paths work for the case's customer."""
    client.force_login(customer)
    assert b"Victim&#39;s secret subject" in client.get(victim_case.get_absolute_url()).content
    download = client.get(f"{victim_case.get_absolute_url()}attachments/{victim_attachment.pk}/")
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == b"victim private log line"
