"""Every route of the site: a POST without a CSRF token is refused, and a GET changes
nothing. Only the provider webhooks (they check their own secret) and the one-click
unsubscribe link (its signed token is the credential) are exempt from CSRF."""

import pytest
from django.contrib.contenttypes.models import ContentType
from django.test import Client

from cases.models import Case
from tests.security.conftest import snapshot
from tests.security.routes import (
    CSRF_EXEMPT_NAMESPACES,
    CSRF_EXEMPT_ROUTES,
    all_routes,
    concrete_path,
)

pytestmark = pytest.mark.django_db


def every_path(victim_case, victim_attachment, engineer, participant_id=1):
    values = {
        "reference": victim_case.reference,
        "attachment_id": victim_attachment.pk,
        "macro_id": 1,
        "participant_id": participant_id,
        "object_id": victim_case.pk,
        "content_type_id": ContentType.objects.get_for_model(Case).pk,
        "id": engineer.pk,
        "uidb64": "MQ",
        "token": "set-password",
        "action": "resolve",
    }
    for route in all_routes():
        if route.namespace in CSRF_EXEMPT_NAMESPACES:
            continue
        path = concrete_path(route, values)
        if path is not None:
            yield route, path


@pytest.mark.parametrize("who", ["customer", "engineer", "anonymous"])
def test_post_without_csrf_token_is_refused_everywhere(
    who, customer, engineer, victim_case, victim_attachment, victim_participant
):
    client = Client(enforce_csrf_checks=True)
    if who != "anonymous":
        client.force_login({"customer": customer, "engineer": engineer}[who])
    before = snapshot()
    checked = 0
    paths = every_path(victim_case, victim_attachment, engineer, victim_participant.pk)
    for route, path in paths:
        response = client.post(
            path,
            {"body": "forged", "confirm": "on", "decision": "approve", "email": "x@example.com"},
        )
        # Without its signed token, the exempt link is refused all the same.
        expected = 400 if route.name in CSRF_EXEMPT_ROUTES else 403
        assert response.status_code == expected, f"POST {path} ({route}) -> {response.status_code}"
        checked += 1
    assert checked > 40
    assert snapshot() == before


def test_only_provider_webhooks_and_the_unsubscribe_link_are_csrf_exempt():
    exempt = {
        str(route) for route in all_routes() if getattr(route.callback, "csrf_exempt", False)
    }
    webhooks = {name for name in exempt if name.split(":")[0] in CSRF_EXEMPT_NAMESPACES}
    assert webhooks and exempt - webhooks == CSRF_EXEMPT_ROUTES, exempt


@pytest.mark.parametrize("who", ["customer", "engineer"])
def test_get_never_changes_state(
    who, customer, engineer, victim_case, victim_attachment, victim_participant
):
    engineer.is_superuser = True  # sees every admin page, delete confirmations included
    engineer.save()
    client = Client()
    client.force_login({"customer": customer, "engineer": engineer}[who])
    before = snapshot()
    for route, path in every_path(victim_case, victim_attachment, engineer, victim_participant.pk):
        response = client.get(path)
        assert response.status_code < 500, f"GET {path} ({route})"
        assert snapshot() == before, f"GET {path} ({route}) changed the database"
