from playwright.sync_api import expect

from tests.browser.conftest import sign_in
from tests.factories import PASSWORD, CaseFactory


def test_customer_signs_in_and_sees_their_case(page, live_url):
    case = CaseFactory(pending_customer=True)
    sign_in(page, live_url, case.requester.email, PASSWORD)
    row = page.locator(f'[data-case-reference="{case.reference}"]')
    expect(row).to_have_attribute("data-case-status", "pending_customer")
