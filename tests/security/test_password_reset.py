"""A password reset request gives an attacker nothing: it answers the same, doing the
same work, whether or not the address has an account; a few per address and per client
are served in a window; the email is queued for a worker, never sent in the request."""

import re
from datetime import timedelta
from unittest import mock

import pytest
from django.conf import settings
from django.test import Client

from portal import password_reset, tasks
from tests.factories import PASSWORD, customer

pytestmark = pytest.mark.django_db

RESET = "/accounts/password_reset/"
DONE = "/accounts/password_reset/done/"


def ask(client, email):
    return client.post(RESET, {"email": email})


def without_nonce(response) -> bytes:
    return re.sub(rb'nonce="[^"]+"', b"", response.content)


def test_known_and_unknown_addresses_get_the_same_answer(
    customer, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        known = Client().post(RESET, {"email": customer.email}, follow=True)
        unknown = Client().post(RESET, {"email": "nobody@example.com"}, follow=True)

    assert known.redirect_chain == unknown.redirect_chain == [(DONE, 302)]
    assert without_nonce(known) == without_nonce(unknown)
    assert customer.email not in known.content.decode()
    assert [email.to for email in mailoutbox] == [[customer.email]]


def test_known_and_unknown_addresses_do_the_same_work(
    customer, django_capture_on_commit_callbacks
):
    """One lookup and one task either way: the answer's timing tells nothing."""
    with mock.patch.object(tasks.send_password_reset, "delay") as delay:
        with django_capture_on_commit_callbacks(execute=True) as known_callbacks:
            ask(Client(), customer.email)
        with django_capture_on_commit_callbacks(execute=True) as unknown_callbacks:
            ask(Client(), "nobody@example.com")

    assert len(known_callbacks) == len(unknown_callbacks) == 1
    assert delay.call_args_list == [mock.call([customer.pk]), mock.call([])]


def test_the_request_queues_the_email_and_does_not_send_it(
    customer, mailoutbox, django_capture_on_commit_callbacks
):
    with (
        mock.patch("django.core.mail.backends.locmem.EmailBackend.send_messages") as send,
        mock.patch.object(tasks.send_password_reset, "delay") as delay,
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = ask(Client(), customer.email)

    assert response["Location"] == DONE
    send.assert_not_called()
    assert mailoutbox == []
    # Only the user id travels through the broker; the worker makes the link.
    delay.assert_called_once_with([customer.pk])

    assert tasks.send_password_reset(delay.call_args.args[0]) == 1
    assert [email.to for email in mailoutbox] == [[customer.email]]
    assert mailoutbox[0].subject == "Reset your Support Portal password"


def test_ten_requests_for_one_address_send_at_most_the_limit(
    customer, mailoutbox, django_capture_on_commit_callbacks
):
    spellings = [customer.email, customer.email.upper(), f" {customer.email.title()} "]
    with django_capture_on_commit_callbacks(execute=True):
        responses = [
            ask(Client(REMOTE_ADDR=f"198.51.100.{n}"), spellings[n % 3]) for n in range(10)
        ]

    assert {response["Location"] for response in responses} == {DONE}
    assert len(mailoutbox) == settings.PASSWORD_RESET_LIMIT_PER_ADDRESS == 3


def test_one_client_asking_for_many_addresses_is_limited(
    organisation, mailoutbox, django_capture_on_commit_callbacks
):
    users = [customer(organisation) for _ in range(settings.PASSWORD_RESET_LIMIT_PER_CLIENT + 2)]
    with django_capture_on_commit_callbacks(execute=True):
        responses = [ask(Client(REMOTE_ADDR="203.0.113.9"), user.email) for user in users]
        ask(Client(REMOTE_ADDR="198.51.100.7"), users[-1].email)

    assert {response["Location"] for response in responses} == {DONE}
    sent_to = [email.to[0] for email in mailoutbox]
    assert sent_to == [
        user.email for user in users[: settings.PASSWORD_RESET_LIMIT_PER_CLIENT]
    ] + [users[-1].email]


def test_the_limit_ends_with_its_window(
    customer, mailoutbox, django_capture_on_commit_callbacks, time_machine
):
    time_machine.move_to("2026-05-01 09:00Z", tick=False)
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(settings.PASSWORD_RESET_LIMIT_PER_ADDRESS + 1):
            ask(Client(), customer.email)
    assert len(mailoutbox) == settings.PASSWORD_RESET_LIMIT_PER_ADDRESS

    time_machine.shift(settings.PASSWORD_RESET_LIMIT_WINDOW + timedelta(seconds=1))
    with django_capture_on_commit_callbacks(execute=True):
        ask(Client(), customer.email)
    assert len(mailoutbox) == settings.PASSWORD_RESET_LIMIT_PER_ADDRESS + 1


def test_the_link_is_built_on_the_site_url_not_the_request_host(
    customer, mailoutbox, django_capture_on_commit_callbacks, settings
):
    settings.SITE_URL = "https://support.example.com"
    settings.ALLOWED_HOSTS = ["support.example.com", "attacker.example"]
    with django_capture_on_commit_callbacks(execute=True):
        Client().post(RESET, {"email": customer.email}, HTTP_HOST="attacker.example")

    link = re.search(r"\S+/accounts/reset/\S+", mailoutbox[0].body)[0]
    assert link.startswith("https://support.example.com/accounts/reset/")


def test_an_account_deactivated_before_the_worker_runs_gets_no_email(customer, mailoutbox):
    customer.is_active = False
    customer.save()

    assert password_reset.send_reset_emails([customer.pk]) == 0
    assert mailoutbox == []


def test_a_reset_link_from_the_worker_sets_a_new_password(
    customer, mailoutbox, django_capture_on_commit_callbacks
):
    client = Client()
    with django_capture_on_commit_callbacks(execute=True):
        ask(client, customer.email)
    path = re.search(r"https?://[^/\s]+(/accounts/reset/\S+)", mailoutbox[0].body)[1]
    form_page = client.get(path, follow=True)
    new = "another brand new passphrase"
    response = client.post(
        form_page.redirect_chain[-1][0], {"new_password1": new, "new_password2": new}
    )

    assert response["Location"] == "/accounts/reset/done/"
    customer.refresh_from_db()
    assert customer.check_password(new)
    assert not customer.check_password(PASSWORD)


def test_a_cache_outage_does_not_stop_a_reset(
    customer, mailoutbox, django_capture_on_commit_callbacks
):
    from redis.exceptions import ConnectionError as RedisConnectionError

    with (
        mock.patch.object(password_reset.cache, "incr", side_effect=RedisConnectionError),
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = ask(Client(), customer.email)

    assert response["Location"] == DONE
    assert [email.to for email in mailoutbox] == [[customer.email]]
