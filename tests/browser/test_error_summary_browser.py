"""A refused form, with the keyboard only: the error summary takes focus, its links lead
to the fields, and what was typed is still there."""

from playwright.sync_api import expect

from cases.models import Case
from tests.browser.conftest import sign_in
from tests.factories import PASSWORD, CaseFactory


def tab_to(page, selector: str, limit: int = 60) -> None:
    """Press Tab until `selector` has focus, as a keyboard user would."""
    for _ in range(limit):
        if page.evaluate("s => document.activeElement.matches(s)", selector):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {selector}")


def test_empty_reply_focuses_the_summary_and_its_link_leads_to_the_reply_box(page, live_url):
    case = CaseFactory(pending_customer=True)
    sign_in(page, live_url, case.requester.email, PASSWORD)
    page.goto(f"{live_url}{case.get_absolute_url()}")

    tab_to(page, "#reply-heading ~ form button[type=submit]")
    page.keyboard.press("Enter")

    summary = page.locator("[data-error-summary]")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("Your reply: Please write a reply.")
    expect(page.locator("#id_body")).to_have_attribute("aria-invalid", "true")
    page.keyboard.press("Tab")
    expect(summary.get_by_role("link")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#id_body")).to_be_focused()

    page.keyboard.type("Here is the log you asked for.")
    tab_to(page, "#reply-heading ~ form button[type=submit]")
    page.keyboard.press("Enter")

    expect(page.get_by_text("Your reply has been added to the case.")).to_be_visible()
    assert case.messages.filter(body="Here is the log you asked for.").exists()


def test_a_new_case_without_a_subject_keeps_the_description(page, live_url):
    case = CaseFactory()  # a customer with an organisation, and nothing else needed
    sign_in(page, live_url, case.requester.email, PASSWORD)
    page.goto(f"{live_url}/cases/new/")

    tab_to(page, "#id_description")
    page.keyboard.type("The export fails since Monday.")
    tab_to(page, "form.stack button[type=submit]")
    page.keyboard.press("Enter")

    summary = page.locator("[data-error-summary]")
    expect(summary).to_be_focused()
    expect(page).to_have_title("Error: Open a case · Support Portal")
    expect(page.locator("#id_description")).to_have_value("The export fails since Monday.")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(page.locator("#id_subject")).to_be_focused()
    page.keyboard.type("Export fails")
    tab_to(page, "form.stack button[type=submit]")
    page.keyboard.press("Enter")

    expect(page.get_by_text("opened. We will be in touch soon.")).to_be_visible()
    assert Case.objects.filter(subject="Export fails").exists()
