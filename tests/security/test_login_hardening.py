"""Logging in gives an attacker nothing: guessing is throttled per login identity and
client address (no spelling of the address, no forged header escapes the count) but
never locks the real owner out for good, and `next` stays on this site. Password reset
requests: test_password_reset.py."""

from datetime import timedelta

import pytest
from axes.helpers import get_client_username
from django.conf import settings
from django.test import Client, RequestFactory

from portal.identity import login_identity
from portal.settings.base import client_address_settings
from tests.factories import PASSWORD, customer

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


# One address in the forms a person or an attacker may type it: capitals, full-width
# (NFKC) letters and signs, mathematical letters, surrounding spaces of every kind.
ADDRESS = "colleague@example.com"
SPELLINGS = [
    "colleague@example.com",
    "Colleague@example.com",
    "COLLEAGUE@EXAMPLE.COM",
    "colleague@Example.Com",
    "\uff43olleague@example.com",  # full-width c
    "\uff23\uff2f\uff2c\uff2c\uff25\uff21\uff27\uff35\uff25\uff20example\uff0ecom",
    "\u2102olleague@example.com",  # double-struck capital C
    "\U0001d41colleague@example.com",  # mathematical bold c
    "colleague@example.com ",
    " colleague@example.com\t",
    "colleague@example.com\u00a0",  # no-break space
    "\u3000Colleague@example.com\u3000",  # ideographic spaces
]


@pytest.fixture
def account(organisation):
    return customer(organisation, email=ADDRESS)


def test_every_spelling_of_an_address_is_one_login_identity_for_login_and_lockout(account):
    request = RequestFactory().post(LOGIN)
    assert len(set(SPELLINGS)) == 12
    for spelling in SPELLINGS:
        assert login_identity(spelling) == ADDRESS, repr(spelling)
        # What django-axes counts under, from the login's credentials or the POST alone.
        assert get_client_username(request, {"username": spelling}) == ADDRESS
        posted = RequestFactory().post(LOGIN, {"username": spelling})
        assert get_client_username(posted, None) == ADDRESS
        # ...and every one of them signs in to that one account.
        client = Client()
        assert login(client, spelling, PASSWORD).status_code == 302, repr(spelling)
        assert client.session["_auth_user_id"] == str(account.pk)


def test_guesses_spread_over_spellings_lock_every_spelling_out(account):
    attacker = Client(**ATTACKER)
    guesses = 0
    statuses = []
    for round_ in range(4):
        for spelling in SPELLINGS:
            statuses.append(login(attacker, spelling, f"guess {round_}").status_code)
            guesses += 1
    assert guesses == 48
    limit = settings.AXES_FAILURE_LIMIT
    assert statuses[: limit - 1] == [200] * (limit - 1)
    assert set(statuses[limit - 1 :]) == {429}

    for spelling in SPELLINGS:
        response = login(Client(**ATTACKER), spelling, PASSWORD)
        assert response.status_code == 429, repr(spelling)
        assert "_auth_user_id" not in attacker.session


def test_the_admin_sign_in_counts_every_spelling_with_the_portal_sign_in(engineer):
    engineer.email = "engineer.on.duty@example.com"
    engineer.save()
    spellings = [
        "Engineer.On.Duty@example.com",
        "\uff45ngineer.on.duty@example.com",
        " ENGINEER.ON.DUTY@EXAMPLE.COM ",
    ]
    attacker = Client(**ATTACKER)
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        url = "/admin/login/" if attempt % 2 else LOGIN
        login_response = attacker.post(
            url, {"username": spellings[attempt % 3], "password": "guess", "next": "/admin/"}
        )
    assert login_response.status_code == 429
    for spelling in spellings:
        for url in ("/admin/login/", LOGIN):
            response = Client(**ATTACKER).post(url, {"username": spelling, "password": PASSWORD})
            assert response.status_code == 429, (url, spelling)


def test_a_success_clears_the_failures_of_every_spelling(account):
    client = Client(**OWNER)
    for spelling in SPELLINGS[: settings.AXES_FAILURE_LIMIT - 1]:
        assert login(client, spelling, "typo").status_code == 200
    assert login(client, SPELLINGS[-1], PASSWORD).status_code == 302
    for spelling in SPELLINGS[: settings.AXES_FAILURE_LIMIT - 1]:
        assert login(Client(**OWNER), spelling, "typo again").status_code == 200


def test_accounts_that_differ_only_by_case_folding_sign_in_by_their_own_spelling(
    organisation,
):
    """`straße` and `strasse` fold to one identity (one lockout count); login takes the
    account spelt exactly as typed."""
    sharp = customer(organisation, email="straße@example.com")
    plain = customer(organisation, email="strasse@example.com")
    for user in (sharp, plain):
        client = Client()
        assert login(client, user.email.capitalize(), PASSWORD).status_code == 302
        assert client.session["_auth_user_id"] == str(user.pk)


def use_proxies(settings, count: int) -> None:
    for name, value in client_address_settings(count).items():
        setattr(settings, name, value)


PROXY = "10.0.0.2"


def test_behind_one_proxy_the_lock_keys_on_the_forwarded_client_address(settings, account):
    use_proxies(settings, 1)
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        # The proxy appends the address it was reached from; a client may forge the rest.
        forged = f"192.0.2.{attempt}, 198.18.0.{attempt}"
        attacker = Client(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=f"{forged}, 203.0.113.9")
        response = login(attacker, ADDRESS, "guess")
    assert response.status_code == 429
    attacker = Client(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="198.51.100.1, 203.0.113.9")
    assert login(attacker, ADDRESS, PASSWORD).status_code == 429

    # The owner comes through the same proxy from their own address: not locked out.
    owner = Client(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="198.51.100.7")
    assert login(owner, ADDRESS, PASSWORD).status_code == 302


def test_without_a_proxy_a_forged_forwarded_header_does_not_escape_the_lock(settings, account):
    use_proxies(settings, 0)
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        attacker = Client(REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR=f"192.0.2.{attempt}")
        response = login(attacker, ADDRESS, "guess")
    assert response.status_code == 429
    attacker = Client(REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR="198.51.100.7")
    assert login(attacker, ADDRESS, PASSWORD).status_code == 429
    assert login(Client(REMOTE_ADDR="198.51.100.7"), ADDRESS, PASSWORD).status_code == 302
