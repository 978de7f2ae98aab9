"""The profile page in Chromium: a customer moves to another zone and stops reminders."""

from datetime import UTC, datetime

from playwright.sync_api import expect

from cases.models import Case
from portal.models import EmailOptOut, EmailTopic, Organisation
from tests.browser.conftest import sign_in
from tests.factories import PASSWORD, CaseFactory, customer

# 09:00 UTC: 10:00 in Paris, 04:00 in New York.
OPENED = datetime(2026, 1, 15, 9, 0, tzinfo=UTC)


def test_a_customer_changes_zone_and_stops_reminders_then_reads_the_case_there(page, live_url):
    organisation = Organisation.objects.create(name="Acme", time_zone="Europe/Paris")
    me = customer(organisation)
    case = CaseFactory(requester=me, open=True)
    Case.objects.filter(pk=case.pk).update(created_at=OPENED)
    sign_in(page, live_url, me.email, PASSWORD)

    page.goto(f"{live_url}{case.get_absolute_url()}")
    expect(page.get_by_text("15 Jan 2026, 10:00 CET").first).to_be_visible()

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Profile").click()
    expect(page.get_by_role("heading", name="Your profile")).to_be_visible()
    zone = page.get_by_label("Time zone")
    expect(zone).to_have_value("")
    expect(zone.locator("option").first).to_have_text("Organisation's zone (Europe/Paris)")
    zone.select_option("America/New_York")
    reminders = page.get_by_label("Reminders before a case closes by itself")
    expect(reminders).to_be_checked()
    reminders.uncheck()
    page.get_by_role("button", name="Save").click()

    expect(
        page.get_by_text("Your profile is saved. Times are shown in America/New_York.")
    ).to_be_visible()
    expect(page.get_by_label("Time zone")).to_have_value("America/New_York")
    expect(page.get_by_label("Reminders before a case closes by itself")).not_to_be_checked()
    me.refresh_from_db()
    assert me.time_zone == "America/New_York"
    assert list(EmailOptOut.objects.filter(user=me).values_list("topic", "source")) == [
        (EmailTopic.REMINDERS, "profile")
    ]

    page.goto(f"{live_url}{case.get_absolute_url()}")
    expect(page.get_by_text("15 Jan 2026, 04:00 EST").first).to_be_visible()
    expect(page.get_by_text("15 Jan 2026, 10:00 CET")).to_have_count(0)
