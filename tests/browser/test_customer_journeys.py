"""What a customer does in Chromium: open, answer, resolve, close, reopen, read the help."""

import re

from playwright.sync_api import expect

from cases import services
from cases.models import InfoRequestKind, Status
from tests.browser.conftest import sign_in
from tests.factories import PASSWORD, CaseFactory, EngineerFactory, customer


def status_badge(page):
    return page.locator(".status-panel [data-case-status]")


def test_open_a_case_with_an_attachment_find_it_in_my_cases_and_read_the_help(
    page, live_url, tmp_path
):
    me = customer()
    sign_in(page, live_url, me.email, PASSWORD)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Open a case").click()
    page.get_by_label("Subject").fill("Nightly backup fails")
    page.get_by_label("Priority").select_option(label="P2 High")
    page.get_by_label("Describe the issue").fill("The 02:00 job exits with code 3.")
    log = tmp_path / "backup.log"
    log.write_text("ERROR: snapshot timed out\n")
    page.get_by_label("Attachments").set_input_files(log)
    page.get_by_role("button", name="Open case").click()

    expect(page.get_by_text(re.compile(r"Case CS-\d+ opened"))).to_be_visible()
    expect(status_badge(page)).to_have_attribute("data-case-status", "new")
    expect(page.get_by_role("link", name="backup.log")).to_be_visible()
    reference = page.locator("h1 .reference").inner_text()

    page.get_by_role("navigation", name="Main").get_by_role("link", name="My Cases").click()
    row = page.locator(f'[data-case-reference="{reference}"]')
    expect(row).to_have_attribute("data-case-status", "new")
    expect(row).to_contain_text("Nightly backup fails")

    page.get_by_label("Search by reference or subject").fill("backup")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("[data-case-reference]")).to_have_count(1)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Help").click()
    expect(page.get_by_role("heading", name="Understanding Case Statuses")).to_be_visible()
    expect(page.locator('tr[data-scenario="pending_customer"]')).to_contain_text("14 days")
    page.get_by_role("article").get_by_role("link", name="My Cases").click()
    expect(page).to_have_url(f"{live_url}/cases/")


def test_answer_a_pending_customer_case_and_watch_it_go_back_to_the_engineer(page, live_url):
    case = CaseFactory(in_progress=True)
    services.case_request_info(
        case=case,
        engineer=case.assignee,
        message="Which Kubernetes version do you run?",
        kind="configuration",
    )
    sign_in(page, live_url, case.requester.email, PASSWORD)

    row = page.locator(f'[data-case-reference="{case.reference}"]')
    expect(row).to_have_attribute("data-case-status", "pending_customer")
    expect(row.locator(".action-required")).to_contain_text("Closes automatically on")
    row.get_by_role("link", name=re.compile("^Reply")).click()

    expect(status_badge(page)).to_have_attribute("data-case-status", "pending_customer")
    # The question is quoted right where the customer answers it.
    expect(page.locator("#reply-heading ~ [data-question]")).to_contain_text(
        "Which Kubernetes version do you run?"
    )
    csp_errors = []
    page.on("console", lambda m: "Content Security Policy" in m.text and csp_errors.append(m))
    page.evaluate("window.pageNotReloaded = true")
    page.get_by_label("Your reply").fill("We run 1.31 on EKS.")
    page.get_by_role("button", name="Reply", exact=True).click()

    expect(status_badge(page)).to_have_attribute("data-case-status", "in_progress")
    expect(page.get_by_text("We run 1.31 on EKS.")).to_be_visible()
    # htmx swapped the page in place (the same form also works as a plain POST, below).
    assert page.evaluate("window.pageNotReloaded") is True
    expect(page.locator("#main .messages")).to_be_focused()
    assert csp_errors == []
    case.refresh_from_db()
    assert case.status == Status.IN_PROGRESS


def test_approve_a_change_the_engineer_asked_for(page, live_url):
    case = CaseFactory(open=True)
    services.case_request_info(
        case=case,
        engineer=case.assignee,
        message="May I restart the cluster?",
        kind=InfoRequestKind.APPROVAL,
    )
    sign_in(page, live_url, case.requester.email, PASSWORD)
    page.goto(f"{live_url}{case.get_absolute_url()}")

    page.get_by_label("Comment (optional)").fill("After 18:00 please.")
    page.get_by_role("button", name="Approve").click()

    expect(status_badge(page)).to_have_attribute("data-case-status", "open")
    expect(page.get_by_text("Approved: go ahead with the change.")).to_be_visible()


def test_mark_resolved_from_my_cases_close_with_confirmation_and_reopen_to_the_same_engineer(
    page, live_url
):
    me = customer()
    engineer = EngineerFactory(full_name="Ada Lovelace")
    to_resolve = CaseFactory(requester=me, open=True, engineer=engineer, subject="Slow dashboard")
    to_close = CaseFactory(
        requester=me, in_progress=True, engineer=engineer, subject="Old question"
    )
    sign_in(page, live_url, me.email, PASSWORD)

    # Mark as resolved, right from the list.
    row = page.locator(f'[data-case-reference="{to_resolve.reference}"]')
    row.get_by_role("button", name=re.compile("^Mark as resolved")).click()
    expect(row).to_have_attribute("data-case-status", "resolved")
    expect(row.locator(".action-required")).to_contain_text("Confirm if it worked, or reopen")

    # Close case asks for a confirmation first.
    page.goto(f"{live_url}{to_close.get_absolute_url()}")
    page.locator("summary", has_text="Close case").click()
    page.get_by_label("Yes, close this case.").check()
    page.get_by_role("button", name="Close case").click()
    expect(status_badge(page)).to_have_attribute("data-case-status", "closed")
    expect(page.get_by_role("button", name="Reply", exact=True)).to_have_count(0)

    # Reopen Case: back to Open with the engineer who worked on it.
    page.get_by_label("What happened? (optional)").fill("The question came up again.")
    page.get_by_role("button", name="Reopen Case").click()
    expect(status_badge(page)).to_have_attribute("data-case-status", "open")
    expect(
        page.get_by_text(f"{to_close.reference} is reopened, back with Ada Lovelace")
    ).to_be_visible()
    expect(page.locator(".facts")).to_contain_text("Ada Lovelace")
    expect(page.locator(".history")).to_contain_text("Closed → Open")
    to_close.refresh_from_db()
    assert (to_close.status, to_close.assignee) == (Status.OPEN, engineer)


def test_every_action_works_without_javascript(browser, live_url):
    """The same journey as a plain HTML form POST: htmx is only an enhancement."""
    case = CaseFactory(in_progress=True)
    services.case_request_info(
        case=case, engineer=case.assignee, message="Send the logs, please.", kind="logs"
    )
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        sign_in(page, live_url, case.requester.email, PASSWORD)
        page.goto(f"{live_url}{case.get_absolute_url()}")
        page.get_by_label("Your reply").fill("Logs are below.")
        page.get_by_role("button", name="Reply", exact=True).click()
        expect(status_badge(page)).to_have_attribute("data-case-status", "in_progress")

        page.get_by_role("button", name="Mark as resolved").click()
        expect(status_badge(page)).to_have_attribute("data-case-status", "resolved")

        page.locator("summary", has_text="Close case").click()
        page.get_by_label("Yes, close this case.").check()
        page.get_by_role("button", name="Close case").click()
        expect(status_badge(page)).to_have_attribute("data-case-status", "closed")

        page.get_by_role("button", name="Reopen Case").click()
        expect(status_badge(page)).to_have_attribute("data-case-status", "open")
    finally:
        context.close()


def test_a_refused_reply_keeps_the_text_in_the_page(page, live_url):
    case = CaseFactory(pending_customer=True)
    sign_in(page, live_url, case.requester.email, PASSWORD)
    page.goto(f"{live_url}{case.get_absolute_url()}")
    page.get_by_label("Your reply").fill("A long answer I do not want to type again.")
    services.case_close(case=case, actor=case.assignee)  # closed while the customer typed

    page.get_by_role("button", name="Reply", exact=True).click()

    expect(page.get_by_text("This case was closed, so your reply was not sent.")).to_be_visible()
    expect(status_badge(page)).to_have_attribute("data-case-status", "closed")
    expect(page.get_by_label("What happened? (optional)")).to_have_value(
        "A long answer I do not want to type again."
    )
