"""The workbench on an engineer's 1280 × 800 screen, and on a phone: the case list's
columns and the case page fit without scrolling sideways; HISTORY and Context lead on."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from cases import services
from cases.models import Case, Priority, Rating
from tests.factories import (
    PASSWORD,
    CaseFactory,
    EngineerFactory,
    MessageFactory,
    OrganisationFactory,
    customer,
    running_target,
)

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
COLUMNS = [
    ("reference_link", "Reference"),
    ("subject", "Subject"),
    ("customer", "Customer"),
    ("organisation", "Organisation"),
    ("status", "Status"),
    ("priority", "Priority"),
    ("assignee", "Assignee"),
    ("next_target", "Next target"),
    ("auto_close", "Auto-close"),
]


def sign_in_engineer(page, live_url: str, engineer) -> None:
    page.goto(f"{live_url}/admin/")
    page.get_by_label("Email address").fill(engineer.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_url}/admin/")


def scrolls_sideways(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth > window.innerWidth")


@pytest.fixture
def desk(db):
    """A busy organisation with long names, as the list and the page meet them."""
    engineer = EngineerFactory(full_name="Maximilian Oberholzer-Castellanos")
    organisation = OrganisationFactory(name="Consolidated Interplanetary Logistics GmbH")
    requester = customer(
        organisation, email="firstname.lastname-of-the-requester@logistics.example.com"
    )
    colleague = customer(organisation, email="colleague@logistics.example.com")
    case = CaseFactory(
        requester=requester,
        in_progress=True,
        engineer=engineer,
        priority=Priority.P1,
        subject="Kubernetes nodes NotReady after the 1.29 upgrade in the eu-central cluster",
    )
    for number in range(3):
        MessageFactory(case=case, body=f"Message {number} about the cluster " * 5)
    running_target(case, timezone.now() + timedelta(hours=2))
    waiting = CaseFactory(requester=requester, pending_customer=True, subject="Backups")
    CaseFactory(requester=colleague, open=True, subject="Registry pulls time out")
    closed = CaseFactory(requester=colleague, closed=True, subject="Billing contact")
    Case.objects.filter(pk=closed.pk).update(
        rating=Rating.GOOD, rating_comment="Quick", rated_at=timezone.now()
    )
    for number in range(12):
        CaseFactory(open=True, subject=f"Another customer's case number {number} " * 2)
    return engineer, case, waiting


def test_case_list_shows_every_named_column_at_1280(page, live_url, desk):
    engineer, _, waiting = desk
    page.set_viewport_size(DESKTOP)
    sign_in_engineer(page, live_url, engineer)

    page.goto(f"{live_url}/admin/cases/case/")

    assert not scrolls_sideways(page)
    results = page.locator("#changelist .results").bounding_box()
    for column, label in COLUMNS:
        header = page.locator(f"#result_list thead th.column-{column}")
        expect(header).to_be_visible()
        expect(header).to_contain_text(label, ignore_case=True)
        box = header.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= DESKTOP["width"], column
        # Not cut off by the table's own scrolling box either.
        assert box["x"] + box["width"] <= results["x"] + results["width"] + 1, column
    row = page.locator("#result_list tbody tr", has_text=waiting.reference)
    expect(row.locator("td.field-status")).to_have_text("Pending Customer")
    expect(row.locator("td.field-auto_close")).not_to_have_text("—")


def test_case_page_fits_1280_with_the_reply_box_on_the_first_screen(page, live_url, desk):
    engineer, case, waiting = desk
    page.set_viewport_size(DESKTOP)
    sign_in_engineer(page, live_url, engineer)

    page.goto(f"{live_url}/admin/cases/case/{case.pk}/change/")

    assert not scrolls_sideways(page)
    main = page.locator(".wb-main").bounding_box()
    side = page.locator(".wb-side").bounding_box()
    # The side panel is beside the thread, not under it.
    assert side["x"] >= main["x"] + main["width"]
    assert side["y"] < main["y"] + 50
    assert side["x"] + side["width"] <= DESKTOP["width"]
    expect(page.locator(".wb-messages")).to_contain_text("Message 2 about the cluster")
    compose = page.locator(".wb-compose textarea").bounding_box()
    assert compose["y"] < DESKTOP["height"]
    expect(page.locator(".wb-side .wb-actions")).to_be_visible()
    expect(page.locator(".wb-side .wb-sla-clock")).to_be_visible()
    panel = page.locator(".wb-context")
    expect(panel.locator('[data-context="customer-open"]')).to_contain_text(waiting.reference)
    expect(panel.locator('[data-context="organisation-open"]')).to_contain_text(
        "Registry pulls time out"
    )
    expect(panel.locator('[data-context="ratings"]')).to_contain_text("Quick")
    # History and emails below the thread, in the main column.
    history = page.locator(".wb-history").bounding_box()
    assert history["y"] > compose["y"] and history["x"] < side["x"]

    panel.get_by_role("link", name=waiting.reference).click()
    expect(page.locator(".wb-summary [data-case-status]")).to_have_attribute(
        "data-case-status", "pending_customer"
    )


def test_history_button_shows_the_cases_history(page, live_url, desk):
    engineer, case, _ = desk
    services.case_request_info(
        case=case, engineer=engineer, message="Which kubelet version?", kind="logs"
    )
    page.set_viewport_size(DESKTOP)
    sign_in_engineer(page, live_url, engineer)
    page.goto(f"{live_url}/admin/cases/case/{case.pk}/change/")

    page.get_by_role("link", name="History").click()

    expect(page.locator(".wb-history-table")).to_contain_text("request_info")
    expect(page.locator("#content")).not_to_contain_text("change history")
    assert not scrolls_sideways(page)


def test_list_and_case_page_do_not_scroll_sideways_on_a_phone(page, live_url, desk):
    engineer, case, _ = desk
    page.set_viewport_size(PHONE)
    sign_in_engineer(page, live_url, engineer)

    page.goto(f"{live_url}/admin/cases/case/")
    assert not scrolls_sideways(page)
    page.goto(f"{live_url}/admin/cases/case/{case.pk}/change/")
    assert not scrolls_sideways(page)
    expect(page.locator(".wb-compose textarea")).to_be_visible()
    # One column: the side panel comes after the thread.
    main = page.locator(".wb-main").bounding_box()
    side = page.locator(".wb-side").bounding_box()
    assert side["y"] >= main["y"] + main["height"]
