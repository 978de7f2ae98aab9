"""Logging in and resetting a password give an attacker nothing: guessing is throttled
but never locks the real owner out for good, `next` stays on this site, and a reset
request answers the same whether or not the address has an account."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client

from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"


def login(client, email, password, **extra):
    return client.post(LOGIN, {"username": email, "password": password, **extra})


ATTACKER = {"REMOTE_ADDR": "203.0.113.9"}
OWNER = {"REMOTE_ADDR": "198.51.100.7"}


def test_guessing_locks_the_guesser_out_then_the_lock_expires(customer, time_machine):
    time_machine.move_to("2026-04-01 10:00Z", tick=False)
    attacker = Client(**ATTACKER)
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert login(attacker, customer.email, "wrong guess").status_code == 200
    assert login(attacker, customer.email, "last guess").status_code == 429
    # Even the right password is refused to the locked-out client.
    assert login(attacker, customer.email, PASSWORD).status_code == 429
    assert "_auth_user_id" not in attacker.session

    # The lock is on this account from that address: the owner elsewhere is not locked out.
    owner = Client(**OWNER)
    assert login(owner, customer.email, PASSWORD).status_code == 302

    time_machine.shift(settings.AXES_COOLOFF_TIME + timedelta(seconds=1))
    returning = Client(**ATTACKER)
    response = login(returning, customer.email, PASSWORD)
    assert response.status_code == 302
    assert returning.session["_auth_user_id"] == str(customer.pk)


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/cases/",
        "/\\evil.example",
        "https:evil.example",
        "javascript:alert(1)",
    ],
)
def test_next_never_leaves_the_site(customer, target):
    response = login(Client(), customer.email, PASSWORD, next=target)
    assert response.status_code == 302
    assert response["Location"] == "/cases/"


def test_next_within_the_site_is_followed(customer):
    response = login(Client(), customer.email, PASSWORD, next="/help/case-statuses/")
    assert response["Location"] == "/help/case-statuses/"


def test_password_reset_does_not_reveal_whether_an_account_exists(client, customer, mailoutbox):
    known = client.post("/accounts/password_reset/", {"email": customer.email})
    unknown = client.post("/accounts/password_reset/", {"email": "nobody@example.com"})
    assert (known.status_code, known["Location"]) == (unknown.status_code, unknown["Location"])
    done = client.get(known["Location"])
    assert done.status_code == 200
    assert customer.email not in done.content.decode()
    assert [email.to for email in mailoutbox] == [[customer.email]]
