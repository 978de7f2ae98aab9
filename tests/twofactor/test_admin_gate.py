"""Staff reach no admin page on a password alone when the second factor is required:
they are sent to enrol an app if they have none, to verify it otherwise. Customers are
never asked. Settings: test_settings.py; enrolment and codes: the other files here."""

import pytest
from django.test import Client, override_settings

from cases.models import Case
from tests.factories import CaseFactory
from tests.security.routes import all_routes, concrete_path
from tests.twofactor.steps import (
    ADMIN,
    SETUP,
    VERIFY,
    code_for,
    enrol,
    password_client,
    to,
    verify,
)

pytestmark = pytest.mark.django_db

# Parameters of the admin's routes: the redirect comes before any view looks them up.
VALUES = {
    "object_id": 1,
    "attachment_id": 1,
    "macro_id": 1,
    "content_type_id": 1,
    "id": 1,
    "action": "close",
}


def admin_paths() -> list[str]:
    paths = []
    for route in all_routes():
        if route.namespace != "admin" or route.is_regex or route.name in {"login", "logout"}:
            continue
        paths.append(concrete_path(route, VALUES))
    assert len(paths) > 20
    return paths


def test_with_the_setting_off_a_password_is_enough(engineer, settings):
    settings.ADMIN_REQUIRE_2FA = False
    client = password_client(engineer)

    assert client.get(ADMIN).status_code == 200
    assert client.get("/admin/cases/case/").status_code == 200


def test_with_the_setting_on_staff_without_an_app_are_sent_to_enrol_from_every_admin_page(
    engineer,
):
    client = password_client(engineer)
    for path in admin_paths():
        response = client.get(path)
        assert response.status_code == 302, path
        assert response["Location"] == to(SETUP, path), path


def test_a_post_to_an_admin_action_is_sent_away_too_and_changes_nothing(engineer, customer):
    case = CaseFactory(requester=customer, open=True)
    client = password_client(engineer)

    response = client.post(
        f"/admin/cases/case/{case.pk}/workbench/close/", {"close-seen_status": "open"}
    )

    assert response.status_code == 302
    assert response["Location"].startswith(SETUP)
    assert Case.objects.get(pk=case.pk).status == case.status


def test_the_index_and_every_page_keep_their_address_as_next(engineer):
    client = password_client(engineer)
    path = "/admin/cases/case/?status__exact=open&o=-1"

    response = client.get(path)

    assert response["Location"] == to(SETUP, path)


def test_staff_with_an_app_are_sent_to_verify_and_then_reach_the_admin(engineer, start):
    key, _ = enrol(password_client(engineer))
    start.shift(60)
    client = password_client(engineer)

    response = client.get("/admin/cases/case/")
    assert response["Location"] == to(VERIFY, "/admin/cases/case/")
    assert client.get(SETUP)["Location"] == to(VERIFY, ADMIN)

    response = verify(client, code_for(key), next_url="/admin/cases/case/")
    assert response.status_code == 302
    assert response["Location"] == "/admin/cases/case/"
    assert client.get("/admin/cases/case/").status_code == 200
    assert client.get(ADMIN).status_code == 200


def test_sign_in_and_sign_out_stay_reachable_and_signing_out_forgets_the_second_factor(
    engineer, start
):
    key, _ = enrol(password_client(engineer))
    start.shift(60)
    client = password_client(engineer)
    assert client.get("/admin/login/").status_code == 302  # to the index, then to verify
    verify(client, code_for(key))
    assert client.get(ADMIN).status_code == 200

    assert client.post("/admin/logout/").status_code == 302
    assert client.get(ADMIN)["Location"].startswith("/admin/login/")

    again = password_client(engineer)
    assert again.get(ADMIN)["Location"] == to(VERIFY, ADMIN)


def test_verifying_gives_the_session_a_new_key(engineer, start):
    key, _ = enrol(password_client(engineer))
    start.shift(60)
    client = password_client(engineer)
    before = client.session.session_key

    verify(client, code_for(key))

    assert client.session.session_key != before
    assert client.get(ADMIN).status_code == 200


def test_customers_are_never_asked(customer):
    client = Client()
    client.force_login(customer)

    assert client.get("/cases/").status_code == 200
    assert client.get(SETUP).status_code == 404
    assert client.get(VERIFY).status_code == 404
    assert client.post(VERIFY, {"code": "123456"}).status_code == 404
    # The admin turns them away as before: to its login page, not to a second factor.
    assert client.get(ADMIN)["Location"].startswith("/admin/login/")


def test_visitors_are_sent_to_sign_in_first(db):
    for page in (SETUP, VERIFY):
        response = Client().get(page)
        assert response.status_code == 302
        assert response["Location"].startswith("/admin/login/")


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/admin/", "/\\evil.example", ""]
)
def test_next_never_leaves_the_site(engineer, start, target):
    key, _ = enrol(password_client(engineer))
    start.shift(60)
    client = password_client(engineer)

    response = verify(client, code_for(key), next_url=target)

    assert response["Location"] == ADMIN


@override_settings(ADMIN_REQUIRE_2FA=False)
def test_an_enrolled_engineer_is_not_asked_while_the_setting_is_off(engineer, start):
    enrol(password_client(engineer))

    assert password_client(engineer).get(ADMIN).status_code == 200
