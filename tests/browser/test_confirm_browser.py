"""Confirm it worked in Chromium: on the case page, on the My Cases row, from the email."""

import re
from datetime import timedelta

from django.core import mail
from playwright.sync_api import expect

from cases import email_actions, services
from cases.models import Case, CaseEvent, Notification, Status
from cases.outbox import deliver
from tests.browser.conftest import sign_in
from tests.factories import PASSWORD, CaseFactory, customer


def resolved_by_engineer(**kwargs) -> Case:
    case = CaseFactory(in_progress=True, **kwargs)
    services.case_resolve(case=case, engineer=case.assignee, message="Fixed in 2.4.1.")
    case.refresh_from_db()
    return case


def test_confirm_it_worked_on_the_case_page_with_a_rating(page, live_url):
    case = resolved_by_engineer()
    sign_in(page, live_url, case.requester.email, PASSWORD)
    page.goto(f"{live_url}{case.get_absolute_url()}")

    page.get_by_label("Yes, it solved my problem").check()
    page.get_by_label("Anything to add? (optional)").fill("Quick fix, thanks.")
    page.get_by_role("button", name="Confirm it worked").click()

    expect(page.locator(".status-panel [data-case-status]")).to_have_attribute(
        "data-case-status", "closed"
    )
    expect(page.get_by_text(f"Thank you: {case.reference} is closed.")).to_be_visible()
    expect(page.get_by_text("The customer confirmed it worked")).to_be_visible()
    expect(page.get_by_role("button", name="Confirm it worked")).to_have_count(0)
    case.refresh_from_db()
    assert (case.status, case.rating, case.rating_comment) == (
        Status.CLOSED,
        "good",
        "Quick fix, thanks.",
    )


def test_confirm_it_worked_from_the_my_cases_row(page, live_url):
    me = customer()
    case = resolved_by_engineer(requester=me)
    sign_in(page, live_url, me.email, PASSWORD)

    row = page.locator(f'[data-case-reference="{case.reference}"]')
    expect(row).to_have_attribute("data-case-status", "resolved")
    row.get_by_role("button", name=re.compile("^Confirm it worked")).click()

    expect(page.get_by_text(f"Thank you: {case.reference} is closed.")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/cases/$"))
    # Closed cases leave the default (active) list for their own tab.
    expect(page.locator(f'[data-case-reference="{case.reference}"]')).to_have_count(0)
    page.goto(f"{live_url}/cases/?status=closed")
    expect(page.locator(f'[data-case-reference="{case.reference}"]')).to_have_attribute(
        "data-case-status", "closed"
    )
    assert Case.objects.get(pk=case.pk).status == Status.CLOSED


def test_confirm_from_the_email_link_without_signing_in(page, live_url, settings):
    settings.SITE_URL = live_url
    mail.outbox = []
    case = CaseFactory(in_progress=True)
    services.case_resolve(case=case, engineer=case.assignee)

    deliver(Notification.objects.get(case=case, kind="resolved").pk)
    [email] = mail.outbox
    link = re.search(rf"{re.escape(live_url)}/cases/link/confirm/\S+/", email.body)[0]

    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_contain_text(case.reference)
    assert Case.objects.get(pk=case.pk).status == Status.RESOLVED  # opening changes nothing
    page.get_by_label("No, not really").check()
    page.get_by_role("button", name="Confirm it worked").click()
    expect(page.get_by_role("heading", name="Thank you")).to_be_visible()
    assert Case.objects.get(pk=case.pk).rating == "bad"

    page.goto(link)  # used
    expect(page.get_by_role("heading", name="This link has already been used")).to_be_visible()
    page.get_by_role("main").get_by_role("link", name="Sign in").click()
    page.get_by_label("Email address").fill(case.requester.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{live_url}{case.get_absolute_url()}")


def test_expired_email_link_explains_itself(page, live_url, settings):
    case = resolved_by_engineer()
    Case.objects.filter(pk=case.pk).update(resolved_at=case.resolved_at - timedelta(days=8))

    event = CaseEvent.objects.filter(case=case, transition="resolve").latest("id")
    url = email_actions.url_for(
        case=case, recipient=case.requester, action="confirm", event_id=event.pk
    ).replace(settings.SITE_URL, live_url)

    page.goto(url)
    expect(page.get_by_role("heading", name="This link has expired")).to_be_visible()
    expect(page.get_by_role("button", name="Confirm it worked")).to_have_count(0)
    expect(page.get_by_role("main").get_by_role("link", name="Sign in")).to_be_visible()
