"""An engineer works a case in /admin/; the customer sees the question in My Cases."""

import re

from playwright.sync_api import expect

from cases.models import Case, Status
from tests.browser.conftest import sign_in
from tests.factories import PASSWORD, CaseFactory, EngineerFactory

QUESTION = "Please attach the output of kubectl describe pod for the failing pod."


def test_engineer_takes_a_case_and_asks_the_customer_for_information(page, browser, live_url):
    engineer = EngineerFactory()
    case = CaseFactory(subject="Ingress returns 502 after upgrade")

    page.goto(f"{live_url}/admin/")
    page.get_by_label("Email address").fill(engineer.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_url}/admin/")
    page.locator("#content-main tr.model-case").get_by_role("link", name="Cases").click()
    page.get_by_role("link", name=case.reference).click()
    status_badge = page.locator(".wb-summary [data-case-status]")
    expect(status_badge).to_have_attribute("data-case-status", "new")

    page.get_by_role("button", name="Take (assign to me)").click()
    expect(page.locator(".messagelist")).to_contain_text(f"You took {case.reference}.")
    expect(status_badge).to_have_attribute("data-case-status", "open")

    ask = page.locator("form.wb-action-request_info")
    ask.get_by_label("What do you need?").select_option(label="Additional logs or error output")
    ask.get_by_label("Message to the customer").fill(QUESTION)
    ask.get_by_role("button", name="Request information").click()
    expect(page.locator(".messagelist")).to_contain_text(f"{case.reference} is Pending Customer")
    expect(page.locator(".wb-messages")).to_contain_text(QUESTION)
    case.refresh_from_db()
    assert (case.status, case.assignee_id) == (Status.PENDING_CUSTOMER, engineer.pk)

    customer_page = browser.new_context().new_page()
    sign_in(customer_page, live_url, case.requester.email, PASSWORD)
    row = customer_page.locator(f'[data-case-reference="{case.reference}"]')
    expect(row).to_have_attribute("data-case-status", "pending_customer")
    expect(row).to_contain_text("Pending Customer")
    row.get_by_role("link", name=re.compile(case.reference)).first.click()
    expect(customer_page.locator("[data-case-status]").first).to_have_attribute(
        "data-case-status", "pending_customer"
    )
    thread = customer_page.locator(".thread")
    expect(thread).to_contain_text(QUESTION)
    expect(thread).to_contain_text("Asked for: Additional logs or error output")
    assert Case.objects.get(pk=case.pk).status == Status.PENDING_CUSTOMER
