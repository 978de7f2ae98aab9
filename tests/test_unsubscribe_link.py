"""The one-click unsubscribe link of optional emails (`/accounts/unsubscribe/<token>/`):
a page with one button, a mail client's RFC 8058 POST, forged links refused."""

from datetime import UTC, datetime

import pytest
from django.core import signing
from django.test import Client

from portal import email_preferences
from portal.models import EmailOptOut, EmailTopic
from tests.factories import customer

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def member():
    return customer()


def path_for(user, topic=EmailTopic.REMINDERS) -> str:
    return f"/accounts/unsubscribe/{email_preferences.unsubscribe_token(user, topic)}/"


def test_opening_the_link_asks_first_and_changes_nothing(client, member):
    response = client.get(path_for(member))

    content = response.content.decode()
    assert response.status_code == 200
    assert "Stop these emails?" in content
    assert f"{member.email} will no longer get reminders before a case closes by itself" in content
    assert f'<form method="post" action="{path_for(member)}">' in content
    assert not EmailOptOut.objects.exists()
    assert "no-store" in response["Cache-Control"]


def test_the_button_turns_the_topic_off_and_says_how_to_undo_it(client, member):
    response = client.post(path_for(member))

    content = response.content.decode()
    assert response.status_code == 200
    assert (
        f"You will no longer get reminders before a case closes by itself at {member.email}."
        in content
    )
    assert 'Turn them back on in <a href="/accounts/profile/">your profile</a>' in content
    opt_out = EmailOptOut.objects.get()
    assert (opt_out.user, opt_out.topic, opt_out.source) == (member, "reminders", "link")


def test_a_mail_clients_one_click_post_needs_no_session_and_no_csrf_token(member):
    mail_client = Client(enforce_csrf_checks=True)

    response = mail_client.post(
        path_for(member, EmailTopic.SHARED_CASE_UPDATES),
        "List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 200
    assert EmailOptOut.objects.get().topic == EmailTopic.SHARED_CASE_UPDATES


def test_posting_twice_is_fine_and_keeps_the_first_opt_out(client, member, time_machine):
    time_machine.move_to(NOW, tick=False)
    first = client.post(path_for(member))
    created = EmailOptOut.objects.get().created_at
    time_machine.shift(3600)
    second = client.post(path_for(member))

    assert first.status_code == second.status_code == 200
    assert EmailOptOut.objects.get().created_at == created
    assert "Already unsubscribed" in client.get(path_for(member)).content.decode()


def test_a_link_turns_off_only_its_own_topic_for_its_own_person(client, member):
    other = customer()

    client.post(path_for(member, EmailTopic.SHARED_CASE_UPDATES))

    assert list(EmailOptOut.objects.values_list("user", "topic")) == [
        (member.pk, "shared_case_updates")
    ]
    assert not EmailOptOut.objects.filter(user=other).exists()


@pytest.mark.parametrize(
    "token",
    [
        "forged",
        "eyJ1IjoxLCJ0IjoicmVtaW5kZXJzIn0:forged-signature",
        # Signed for another purpose (the resolved email's links): not accepted here.
        signing.Signer(salt="cases.email-action.confirm").sign_object({"u": 1, "t": "reminders"}),
    ],
    ids=["forged", "bad-signature", "other-purpose"],
)
def test_a_forged_or_mangled_link_is_refused_clearly(client, member, token):
    response = client.post(f"/accounts/unsubscribe/{token}/")

    assert response.status_code == 400
    assert "This link is not valid" in response.content.decode()
    assert not EmailOptOut.objects.exists()
    assert client.get(f"/accounts/unsubscribe/{token}/").status_code == 400


def test_a_topic_changed_in_a_token_breaks_its_signature(client, member):
    token = email_preferences.unsubscribe_token(member, EmailTopic.REMINDERS)
    payload, signature = token.rsplit(":", 1)
    other = email_preferences.unsubscribe_token(member, EmailTopic.DAILY_DIGEST)

    response = client.post(f"/accounts/unsubscribe/{other.rsplit(':', 1)[0]}:{signature}/")

    assert response.status_code == 400
    assert not EmailOptOut.objects.exists()
    assert payload != other.rsplit(":", 1)[0]


def test_a_link_for_an_account_that_is_gone_is_refused(client):
    token = signing.Signer(salt=email_preferences.UNSUBSCRIBE_SALT).sign_object(
        {"u": 999_999, "t": "reminders"}
    )

    assert client.post(f"/accounts/unsubscribe/{token}/").status_code == 400


def test_an_old_link_still_works(client, member, time_machine):
    time_machine.move_to(NOW, tick=False)
    path = path_for(member)
    time_machine.shift(3 * 365 * 24 * 3600)

    assert client.post(path).status_code == 200
    assert EmailOptOut.objects.filter(user=member).exists()
