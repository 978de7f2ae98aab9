"""Sharing a case in Chromium: the requester adds a colleague on the case page, the
colleague finds it under Shared with me and acts on it; a wrong address is refused."""

import re

from playwright.sync_api import expect

from cases.models import CaseEvent, CaseParticipant, Notification, NotificationKind, Status
from tests.browser.conftest import sign_in
from tests.factories import PASSWORD, CaseFactory, OrganisationFactory, customer


def test_a_customer_shares_a_case_and_the_colleague_finds_it_under_shared_with_me(
    page, browser, live_url
):
    acme = OrganisationFactory(name="Acme")
    alex = customer(acme, full_name="Alex Requester", email="alex@acme.example")
    carol = customer(acme, full_name="Carol Colleague", email="carol@acme.example")
    case = CaseFactory(requester=alex, resolved=True, subject="Backups fail")

    sign_in(page, live_url, alex.email, PASSWORD)
    page.goto(f"{live_url}{case.get_absolute_url()}")
    people = page.get_by_role("region", name="People on this case")
    expect(people.locator('datalist option[value="carol@acme.example"]')).to_have_count(1)
    people.get_by_label("Colleague's email address").fill("carol@acme.example")
    people.get_by_label("Message to them (optional)").fill("Can you confirm the fix?")
    people.get_by_role("button", name="Add colleague").click()

    expect(page.get_by_text(f"Carol Colleague can now follow {case.reference}.")).to_be_visible()
    listed = page.locator('[data-case-participant="carol@acme.example"]')
    expect(listed).to_contain_text("Carol Colleague")
    expect(listed.get_by_role("button", name=re.compile("^Remove"))).to_be_visible()
    expect(page.get_by_role("region", name="History")).to_contain_text(
        "Shared with Carol Colleague"
    )
    assert CaseParticipant.objects.filter(case=case, user=carol).exists()
    assert Notification.objects.filter(recipient=carol, kind=NotificationKind.CASE_SHARED).exists()

    # Carol signs in elsewhere: the case is hers to follow under Shared with me.
    colleague = browser.new_context().new_page()
    sign_in(colleague, live_url, carol.email, PASSWORD)
    expect(colleague.locator(f'[data-case-reference="{case.reference}"]')).to_have_count(0)
    colleague.get_by_role("navigation", name="Whose cases").get_by_role(
        "link", name="Shared with me"
    ).click()
    row = colleague.locator(f'[data-case-reference="{case.reference}"]')
    expect(row).to_contain_text("Opened by Alex Requester")
    row.get_by_role("button", name=re.compile("^Confirm it worked")).click()

    expect(colleague.get_by_text(f"Thank you: {case.reference} is closed.")).to_be_visible()
    case.refresh_from_db()
    assert case.status == Status.CLOSED
    assert CaseEvent.objects.get(case=case, transition="confirm").actor == carol
    colleague.context.close()


def test_an_address_of_another_organisation_is_refused_and_kept(page, live_url):
    alex = customer(email="alex@acme.example")
    customer(email="eve@elsewhere.example")
    case = CaseFactory(requester=alex, open=True)

    sign_in(page, live_url, alex.email, PASSWORD)
    page.goto(f"{live_url}{case.get_absolute_url()}")
    field = page.get_by_label("Colleague's email address")
    field.fill("eve@elsewhere.example")
    page.get_by_role("button", name="Add colleague").click()

    summary = page.locator("[data-error-summary]")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text(
        "eve@elsewhere.example is not a colleague in your organisation with an account here."
    )
    expect(page.get_by_label("Colleague's email address")).to_have_value("eve@elsewhere.example")
    expect(page.locator("[data-case-participant]")).to_have_count(0)
    assert not CaseParticipant.objects.exists()
