"""The profile page (`/accounts/profile/`): name, time zone and the optional emails."""

import re

import pytest
from django.test import Client

from portal.models import EmailOptOut, EmailTopic, Organisation
from tests.factories import PASSWORD, EngineerFactory, UserFactory, customer

pytestmark = pytest.mark.django_db

PROFILE = "/accounts/profile/"


@pytest.fixture
def member():
    organisation = Organisation.objects.create(name="Acme", time_zone="Europe/Paris")
    return customer(organisation, full_name="Casey Customer")


def form_data(**changes) -> dict:
    data = {
        "full_name": "Casey Customer",
        "time_zone": "",
        "email_reminders": "on",
        "email_shared_case_updates": "on",
    }
    data.update(changes)
    return {name: value for name, value in data.items() if value is not None}


def test_a_visitor_is_sent_to_sign_in(client):
    response = client.get(PROFILE)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/accounts/profile/")


def test_the_page_shows_name_zone_and_the_customers_optional_emails(client, member):
    client.force_login(member)

    content = client.get(PROFILE).content.decode()

    assert 'value="Casey Customer"' in content
    # The empty choice says what it resolves to.
    assert '<option value="" selected>Organisation&#39;s zone (Europe/Paris)</option>' in content
    assert '<optgroup label="Common">' in content and '<optgroup label="Pacific">' in content
    assert content.count('value="Europe/Paris"') == 1  # once: in Common, not again in Europe
    assert 'aria-describedby="id_email_reminders_helptext"' in content
    assert 'id="id_email_reminders_helptext"' in content
    assert 'name="email_shared_case_updates"' in content
    assert "email_daily_digest" not in content
    assert "A case resolved, with the links to confirm it worked or reopen it" in content
    assert re.search(r'<input type="checkbox" name="email_reminders"[^>]* checked', content)


def test_a_support_engineer_sees_the_digest_and_no_customer_emails(client):
    engineer = EngineerFactory()
    client.force_login(engineer)

    content = client.get(PROFILE).content.decode()

    assert 'name="email_daily_digest"' in content
    assert "email_reminders" not in content
    assert "The portal&#39;s zone (UTC)" in content
    assert "New urgent cases, and response targets at risk or missed" in content
    assert 'href="/admin/"' in content


def test_staff_who_work_no_cases_are_told_no_email_concerns_them(client):
    client.force_login(UserFactory(is_staff=True))

    content = client.get(PROFILE).content.decode()

    assert "The portal sends you no emails about cases." in content
    assert 'type="checkbox"' not in content and "Always sent" not in content


def test_saving_changes_name_zone_and_emails_and_says_so(client, member):
    client.force_login(member)

    response = client.post(
        PROFILE,
        form_data(full_name="Casey C.", time_zone="America/New_York", email_reminders=None),
        follow=True,
    )

    assert response.redirect_chain == [(PROFILE, 302)]
    assert "Your profile is saved. Times are shown in America/New_York." in (
        response.content.decode()
    )
    member.refresh_from_db()
    assert (member.full_name, member.time_zone) == ("Casey C.", "America/New_York")
    opt_out = EmailOptOut.objects.get(user=member)
    assert (opt_out.topic, opt_out.source) == (EmailTopic.REMINDERS, "profile")
    page = response.content.decode()
    assert '<option value="America/New_York" selected>America/New York</option>' in page
    assert not re.search(r'<input type="checkbox" name="email_reminders"[^>]* checked', page)


def test_ticking_a_topic_again_turns_it_back_on(client, member):
    EmailOptOut.objects.create(user=member, topic=EmailTopic.REMINDERS, source="link")
    client.force_login(member)

    client.post(PROFILE, form_data())

    assert not EmailOptOut.objects.filter(user=member).exists()


def test_an_opt_out_made_from_an_email_keeps_its_origin_when_saved_again(client, member):
    EmailOptOut.objects.create(user=member, topic=EmailTopic.REMINDERS, source="link")
    client.force_login(member)

    client.post(PROFILE, form_data(full_name="Casey", email_reminders=None))

    assert EmailOptOut.objects.get(user=member).source == "link"


def test_a_zone_that_is_not_a_zone_is_refused_clearly(client, member):
    client.force_login(member)

    response = client.post(PROFILE, form_data(time_zone="Mars/Olympus_Mons"))

    content = response.content.decode()
    assert response.status_code == 200
    assert "<title>Error: Your profile · Support Portal</title>" in content
    assert "There is a problem" in content
    assert "Time zone: Choose a time zone from the list, e.g. Europe/Paris." in content
    member.refresh_from_db()
    assert member.time_zone == ""


def test_a_topic_not_offered_is_left_alone(client):
    """Only the topics shown are read: the digest, not offered to a customer, is not
    turned off by its absence from the form."""
    member = customer()
    client.force_login(member)

    client.post(PROFILE, form_data(email_daily_digest=None, email_reminders="on"))

    assert not EmailOptOut.objects.filter(user=member).exists()


def test_saving_needs_a_csrf_token(member):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(member)

    response = browser.post(PROFILE, form_data(full_name="Forged"))

    assert response.status_code == 403
    member.refresh_from_db()
    assert member.full_name == "Casey Customer"


def test_the_site_navigation_links_to_the_profile(client, member):
    client.force_login(member)

    content = client.get("/cases/").content.decode()

    assert '<a href="/accounts/profile/">Profile</a>' in content
    assert '<a href="/accounts/profile/" aria-current="page">Profile</a>' in (
        client.get(PROFILE).content.decode()
    )


def test_the_admin_links_to_the_profile_and_names_the_engineers_zone(client):
    engineer = EngineerFactory(time_zone="Asia/Tokyo")
    client.force_login(engineer)

    content = client.get("/admin/").content.decode()

    assert '<a href="/accounts/profile/">Profile</a>' in content
    assert "(times in Asia/Tokyo)" in content


def test_signing_in_leads_back_to_the_profile(client, member):
    response = client.post(
        "/accounts/login/?next=/accounts/profile/",
        {"username": member.email, "password": PASSWORD},
    )

    assert response.status_code == 302
    assert response["Location"] == PROFILE
