"""The case list's queues and the workbench's keyboard shortcuts, in Chromium at 1280 × 800."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from cases.models import Priority, Status
from tests.factories import PASSWORD, CaseFactory, EngineerFactory, running_target


@pytest.fixture
def desk(page):
    page.set_viewport_size({"width": 1280, "height": 800})
    return page


def sign_in_admin(page, live_url: str, engineer) -> None:
    page.goto(f"{live_url}/admin/")
    page.get_by_label("Email address").fill(engineer.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_url}/admin/")


def test_queues_show_counts_and_open_as_bookmarkable_filters(desk, live_url):
    engineer = EngineerFactory()
    now = timezone.now()
    mine = CaseFactory(open=True, engineer=engineer, subject="Mine and open")
    urgent = CaseFactory(priority=Priority.P1, subject="Urgent and unanswered")
    running_target(urgent, now + timedelta(minutes=20))
    CaseFactory(subject="Quiet new case")
    CaseFactory(resolved=True, engineer=engineer, subject="Mine but resolved")
    sign_in_admin(desk, live_url, engineer)

    desk.goto(f"{live_url}/admin/cases/case/")
    queues = desk.get_by_role("navigation", name="Queues")
    expected = {
        "mine": "1",
        "unassigned": "2",
        "unanswered": "1",
        "breaching": "1",
        "waiting": "0",
        "reopened": "0",
    }
    for slug, count in expected.items():
        expect(queues.locator(f'[data-queue="{slug}"] .case-queue-count')).to_have_text(
            f"{count} {'case' if count == '1' else 'cases'}"
        )
    # On screen beside the list at 1280 px, without scrolling sideways.
    expect(queues).to_be_in_viewport()
    assert desk.evaluate("document.documentElement.scrollWidth") <= 1280

    queues.get_by_role("link", name="Mine (open)").click()
    expect(desk).to_have_url(f"{live_url}/admin/cases/case/?assignee=mine&open=yes")
    expect(queues.locator('[aria-current="page"]')).to_have_attribute("data-queue", "mine")
    rows = desk.locator("#result_list tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(mine.reference)

    # The bookmark, opened later, is the same queue.
    desk.goto(f"{live_url}/admin/cases/case/?assignee=mine&open=yes")
    expect(queues.locator('[aria-current="page"]')).to_have_attribute("data-queue", "mine")

    queues.get_by_role("link", name="P1/P2 not yet answered").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(urgent.reference)
    expect(queues.locator('[aria-current="page"]')).to_have_attribute("data-queue", "unanswered")

    queues.get_by_role("link", name="Unassigned").click()
    expect(rows).to_have_count(2)
    expect(desk.locator("#result_list")).not_to_contain_text("Mine and open")


def test_shortcuts_on_the_list_and_the_case_page(desk, live_url):
    engineer = EngineerFactory()
    case = CaseFactory(subject="Ingress returns 502", open=True)  # another engineer's
    CaseFactory(subject="Something else")
    # A script the CSP refused, or one that failed, shows here.
    errors = []
    desk.on("pageerror", lambda error: errors.append(str(error)))
    desk.on(
        "console",
        lambda message: (
            errors.append(message.text)
            if message.type == "error" and "favicon" not in message.location.get("url", "")
            else None
        ),
    )
    sign_in_admin(desk, live_url, engineer)

    desk.goto(f"{live_url}/admin/cases/case/?assignee=unassigned")
    desk.keyboard.press("/")
    expect(desk.locator("#searchbar")).to_be_focused()
    # Typed in the search box, the keys are text, not shortcuts.
    desk.keyboard.type("a/?r")
    expect(desk.locator("#searchbar")).to_have_value("a/?r")
    expect(desk.get_by_role("dialog")).to_have_count(0)
    desk.locator("#searchbar").fill("")
    desk.locator("#searchbar").blur()

    desk.keyboard.press("?")
    dialog = desk.get_by_role("dialog", name="Keyboard shortcuts")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Write a public reply")
    expect(dialog.get_by_role("button", name="Close")).to_be_focused()
    desk.keyboard.press("Escape")
    expect(dialog).to_be_hidden()

    desk.goto(f"{live_url}/admin/cases/case/{case.pk}/change/")
    reply = desk.locator("form.wb-compose textarea")
    # Modifier keys are the browser's: Ctrl+R must not be taken for r.
    desk.keyboard.press("Control+n")
    expect(reply).not_to_be_focused()

    desk.keyboard.press("n")
    expect(reply).to_be_focused()
    expect(desk.locator("form.wb-compose")).to_have_attribute("data-compose-mode", "note")
    desk.keyboard.type("a note")  # typing in the box: no Take
    expect(reply).to_have_value("a note")
    assert desk.url.endswith(f"/{case.pk}/change/")
    reply.fill("")
    reply.blur()

    desk.keyboard.press("r")
    expect(reply).to_be_focused()
    expect(desk.locator("form.wb-compose")).to_have_attribute("data-compose-mode", "reply")
    reply.blur()

    desk.keyboard.press("a")
    expect(desk.locator(".messagelist")).to_contain_text(f"You took {case.reference}.")
    case.refresh_from_db()
    assert (case.assignee_id, case.status) == (engineer.pk, Status.OPEN)

    # / from the case page: the list's search box (once the page's script runs).
    desk.wait_for_load_state("load")
    desk.keyboard.press("/")
    expect(desk.locator("#searchbar")).to_be_focused()
    assert "/admin/cases/case/" in desk.url
    assert errors == []
