"""Sign in, sign out, password reset, brute-force lockout and the friendly error pages."""

import re
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client, RequestFactory
from django.views import defaults

from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def sign_in(client, email: str, password: str, next_url: str | None = None):
    data = {"username": email, "password": password}
    if next_url is not None:
        data["next"] = next_url
    return client.post("/accounts/login/", data)


def test_sign_in_page_has_labelled_fields(client):
    content = client.get("/accounts/login/").content.decode()

    assert '<label for="id_username">Email address</label>' in content
    assert '<label for="id_password">Password</label>' in content
    assert "Forgotten your password?" in content


def test_sign_in_with_email_any_case_goes_to_my_cases(client, customer):
    response = sign_in(client, customer.email.upper(), PASSWORD)

    assert response.status_code == 302
    assert response["Location"] == "/cases/"


def test_wrong_password_is_refused_without_saying_which_part_was_wrong(client, customer):
    response = sign_in(client, customer.email, "wrong")

    assert response.status_code == 200
    assert "Please enter a correct email address and password" in response.content.decode()


def test_sign_in_follows_a_same_site_next(client, customer):
    response = sign_in(client, customer.email, PASSWORD, next_url="/cases/new/")

    assert response["Location"] == "/cases/new/"


@pytest.mark.parametrize(
    "next_url",
    ["https://evil.example/", "//evil.example/", "/\\evil.example/", "javascript:alert(1)"],
)
def test_sign_in_never_redirects_off_site(client, customer, next_url):
    response = sign_in(client, customer.email, PASSWORD, next_url=next_url)

    assert response.status_code == 302
    assert response["Location"] == "/cases/"


def test_sign_out_is_a_post(client, customer):
    client.force_login(customer)

    assert client.get("/accounts/logout/").status_code == 405
    response = client.post("/accounts/logout/")

    assert response["Location"] == "/accounts/login/"
    assert client.get("/cases/").status_code == 302


# --- Password reset -------------------------------------------------------------------


def test_password_reset_does_not_reveal_whether_an_account_exists(
    client, customer, mailoutbox, django_capture_on_commit_callbacks
):
    # The email is queued after commit and sent by a worker (inline here).
    with django_capture_on_commit_callbacks(execute=True):
        known = client.post("/accounts/password_reset/", {"email": customer.email}, follow=True)
        unknown = client.post(
            "/accounts/password_reset/", {"email": "nobody@example.com"}, follow=True
        )

    assert (
        known.redirect_chain == unknown.redirect_chain == [("/accounts/password_reset/done/", 302)]
    )
    # Identical pages, apart from the per-response CSP nonce.
    without_nonce = [re.sub(rb'nonce="[^"]+"', b"", r.content) for r in (known, unknown)]
    assert without_nonce[0] == without_nonce[1]
    assert "If an account exists for that address" in known.content.decode()
    assert [m.to for m in mailoutbox] == [[customer.email]]


def test_password_reset_link_sets_a_new_password(
    client, customer, mailoutbox, django_capture_on_commit_callbacks, settings
):
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/accounts/password_reset/", {"email": customer.email})
    # Links are built on SITE_URL, never on the request's Host header.
    link = re.search(
        rf"{re.escape(settings.SITE_URL)}(/accounts/reset/\S+)", mailoutbox[0].body
    ).group(1)

    form_page = client.get(link, follow=True)
    assert "Choose a new password" in form_page.content.decode()
    # Django's rules come as (lazy) safe markup: a list, not its escaped source.
    assert "<li>Your password must contain at least 8 characters.</li>" in (
        form_page.content.decode()
    )
    set_password_url = form_page.redirect_chain[-1][0]
    new = "a brand new passphrase 42"
    response = client.post(set_password_url, {"new_password1": new, "new_password2": new})

    assert response["Location"] == "/accounts/reset/done/"
    customer.refresh_from_db()
    assert customer.check_password(new)


def test_used_or_forged_reset_link_is_refused(client, customer):
    response = client.get("/accounts/reset/MQ/forged-token/")

    assert "This link has expired" in response.content.decode()


# --- Brute force ----------------------------------------------------------------------


def test_repeated_failures_lock_sign_in_for_a_while_only(client, customer, settings, time_machine):
    settings.AXES_FAILURE_LIMIT = 3
    time_machine.move_to("2026-06-01 10:00:00+00:00", tick=False)
    for _ in range(3):
        sign_in(client, customer.email, "guess")

    locked = sign_in(client, customer.email, PASSWORD)
    assert locked.status_code == 429
    assert "Too many sign-in attempts" in locked.content.decode()

    time_machine.shift(settings.AXES_COOLOFF_TIME - timedelta(seconds=1))
    assert sign_in(client, customer.email, PASSWORD).status_code == 429

    time_machine.shift(timedelta(seconds=2))
    response = sign_in(client, customer.email, PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == "/cases/"


# --- Friendly error pages -------------------------------------------------------------


def test_not_found_page_is_friendly(client, customer):
    client.force_login(customer)

    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert "find that page" in response.content.decode()
    assert 'href="/cases/"' in response.content.decode()


def test_forbidden_page_is_friendly():
    request = RequestFactory().get("/")
    request.user = None

    response = defaults.permission_denied(request, PermissionDenied())

    assert response.status_code == 403
    assert "You can't do that" in response.content.decode()


def test_server_error_page_is_friendly_and_standalone():
    response = defaults.server_error(RequestFactory().get("/"))

    assert response.status_code == 500
    assert "Something went wrong on our side" in response.content.decode()


def test_csrf_failure_page_is_friendly(customer):
    client = Client(enforce_csrf_checks=True)

    response = client.post("/accounts/login/", {"username": customer.email, "password": PASSWORD})

    assert response.status_code == 403
    assert "This form has expired" in response.content.decode()
