"""`manage.py seed_demo`: the demo logins and one case in every status, idempotently."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from cases.models import Case, CaseEvent, Message, Notification, Status
from portal.models import Membership, Organisation

pytestmark = pytest.mark.django_db

DEMO_LOGINS = {
    "customer@example.com": "customer",
    "colleague@example.com": "customer",
    "other@example.com": "customer",
    "engineer@example.com": "engineer",
}
PASSWORD = "portal-demo"


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def table_sizes() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (
            get_user_model(),
            Organisation,
            Membership,
            Case,
            Message,
            CaseEvent,
            Notification,
        )
    }


def test_seeding_twice_creates_nothing_twice():
    seed()
    first = table_sizes()
    second_output = seed()

    assert table_sizes() == first
    assert "already exist" in second_output
    assert first["Case"] >= len(Status.values)


def test_prints_the_demo_logins():
    output = seed()
    for email in DEMO_LOGINS:
        assert email in output
    assert PASSWORD in output


def test_every_status_has_a_demo_case():
    seed()
    assert set(Case.objects.values_list("status", flat=True)) == set(Status.values)


def test_pending_customer_case_shows_the_engineers_question_in_its_thread():
    seed()
    engineer = get_user_model().objects.get(email="engineer@example.com")
    for case in Case.objects.filter(status=Status.PENDING_CUSTOMER):
        question = case.messages.filter(is_internal=False).last()
        assert question.author == engineer
        assert question.info_request_kind == case.info_request_kind != ""
        assert len(question.body) > 20
        assert case.pending_since is not None
        assert case.auto_close_at is not None


def test_demo_organisations_and_roles_are_as_designed():
    seed()
    User = get_user_model()
    customer = User.objects.get(email="customer@example.com")
    colleague = User.objects.get(email="colleague@example.com")
    other = User.objects.get(email="other@example.com")
    engineer = User.objects.get(email="engineer@example.com")

    assert customer.membership.organisation == colleague.membership.organisation
    assert other.membership.organisation != customer.membership.organisation
    assert engineer.is_support_engineer
    assert not any(u.is_staff for u in (customer, colleague, other))
    # The colleague follows the organisation's cases; the other customer sees none of them.
    assert Case.objects.visible_to_customer(colleague).filter(requester=customer).exists()
    assert not Case.objects.visible_to_customer(other).filter(requester=customer).exists()


@pytest.mark.parametrize(("email", "role"), DEMO_LOGINS.items())
def test_demo_logins_work_with_the_demo_password(client, email, role):
    seed()
    response = client.post("/accounts/login/", {"username": email, "password": PASSWORD})

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(get_user_model().objects.get(email=email).pk)
    if role == "engineer":
        assert client.get("/admin/cases/case/").status_code == 200
    else:
        assert client.get("/cases/").status_code == 200
        assert client.get("/admin/").status_code == 302


def test_demo_password_is_the_only_one_that_works(client):
    seed()
    response = client.post(
        "/accounts/login/", {"username": "customer@example.com", "password": "wrong-password"}
    )
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
