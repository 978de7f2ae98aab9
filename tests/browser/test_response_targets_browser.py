"""Response targets in Chromium: the case page's promise and its `data-response-due` hook,
My Cases rows on a phone, and the help centre's two service-level pages."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from importlib import import_module

import pytest
from django.apps import apps
from playwright.sync_api import expect

from cases import services
from cases.models import Case, Plan, PlanTarget, Priority
from tests.browser.conftest import sign_in
from tests.factories import PASSWORD, EngineerFactory, OrganisationFactory, customer

PRIORITIES = "/help/case-priorities/"
STATUSES = "/help/case-statuses/"
PLANS = "/help/plan-comparison/"


@pytest.fixture(autouse=True)
def seeded_policy(_browser_db):
    """The policy migration 0017 seeds: each browser test's flush empties it."""
    import_module("cases.migrations.0017_seed_service_levels").seed(apps, None)


def on_plan(name: str):
    return customer(OrganisationFactory(plan=Plan.objects.get(name=name)))


def open_p1(requester) -> Case:
    """A P1 on Business or Enterprise runs around the clock: due within the hour, any time."""
    return services.case_open(
        requester=requester,
        subject="Ingress returns 502",
        description="A third of requests fail.",
        priority=Priority.P1,
    )


def test_the_case_page_says_when_we_aim_to_reply_until_the_engineer_does(page, live_url):
    me = on_plan("Business")
    case = open_p1(me)
    due = Case.objects.get(pk=case.pk).response_due_at
    sign_in(page, live_url, me.email, PASSWORD)
    page.goto(f"{live_url}{case.get_absolute_url()}")

    promise = page.locator(".status-panel [data-response-due]")
    expect(promise).to_be_visible()
    expect(promise).to_contain_text(
        re.compile(r"We aim to reply by \w{3} \d{1,2} \w{3}, \d\d:\d\d")
    )
    expect(promise).to_contain_text("(Business plan, P1)")
    attribute = promise.get_attribute("data-response-due")
    # ISO 8601 with its offset, for Python and for the browser alike.
    parsed = datetime.fromisoformat(attribute)
    assert parsed.utcoffset() is not None
    # The due time, to the millisecond (HTML's <time> keeps no more).
    assert parsed == due.replace(microsecond=due.microsecond // 1000 * 1000)
    assert re.search(r"[+-]\d\d:\d\d$", attribute)
    assert page.evaluate("(s) => Date.parse(s)", attribute) == round(parsed.timestamp() * 1000)
    assert promise.locator("time").get_attribute("datetime") == attribute

    promise.get_by_role("link", name="Business plan, P1").click()
    expect(page).to_have_url(f"{live_url}{PLANS}")
    expect(page.locator('th.own-plan[data-plan="Business"]')).to_be_visible()

    engineer = EngineerFactory()
    services.case_assign(case=case, engineer=engineer)
    services.case_reply(case=case, author=engineer, body="Looking at the ingress now.")
    page.goto(f"{live_url}{case.get_absolute_url()}")

    expect(page.get_by_text("Looking at the ingress now.")).to_be_visible()
    expect(page.locator("[data-response-due]")).to_have_count(0)


def test_my_cases_rows_show_reply_by_and_fit_a_phone(page, live_url):
    me = on_plan("Enterprise")
    case = open_p1(me)
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, live_url, me.email, PASSWORD)

    due = page.locator(f'[data-case-reference="{case.reference}"] [data-response-due]')
    expect(due).to_be_visible()
    expect(due).to_contain_text(re.compile(r"^Reply by \w{3} \d{1,2} \w{3}, \d\d:\d\d"))
    parsed = datetime.fromisoformat(due.get_attribute("data-response-due"))
    assert timedelta(0) < parsed - Case.objects.get(pk=case.pk).created_at <= timedelta(hours=1)
    # Nothing is wider than the phone: the row wraps.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    box = due.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390


def pager(page):
    return page.get_by_role("navigation", name="More help")


def test_help_pages_follow_the_seed_order_with_previous_and_next(page, live_url):
    page.goto(f"{live_url}{PRIORITIES}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Case Priorities")
    expect(pager(page).locator('[rel="prev"]')).to_have_count(0)

    pager(page).get_by_role("link", name="Next: Understanding Case Statuses").click()
    expect(page).to_have_url(f"{live_url}{STATUSES}")
    pager(page).get_by_role("link", name="Next: Plan Comparison").click()
    expect(page).to_have_url(f"{live_url}{PLANS}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Plan Comparison")
    expect(pager(page).locator('[rel="next"]')).to_have_count(0)

    pager(page).get_by_role("link", name="Previous: Understanding Case Statuses").click()
    expect(page).to_have_url(f"{live_url}{STATUSES}")
    pager(page).get_by_role("link", name="Previous: Case Priorities").click()
    expect(page).to_have_url(f"{live_url}{PRIORITIES}")


def test_help_pages_highlight_the_customers_own_plan(page, live_url):
    page.goto(f"{live_url}{PLANS}")
    expect(page.locator(".own-plan")).to_have_count(0)

    me = on_plan("Enterprise")
    sign_in(page, live_url, me.email, PASSWORD)
    page.goto(f"{live_url}{PLANS}")

    header = page.locator("th.own-plan")
    expect(header).to_have_count(1)
    expect(header).to_have_attribute("data-plan", "Enterprise")
    expect(header).to_contain_text("Your plan")
    own = page.locator('tr[data-priority="1"] td.own-plan')
    other = page.locator('tr[data-priority="1"] td:not(.own-plan)').first
    background = "(e) => getComputedStyle(e).backgroundColor"
    assert own.evaluate(background) != other.evaluate(background)

    # On a phone their plan is the column in view, beside the priorities.
    page.set_viewport_size({"width": 390, "height": 844})
    box = header.bounding_box()
    assert box is not None and box["x"] + box["width"] <= 390

    page.goto(f"{live_url}{PRIORITIES}")
    expect(page.locator('[data-priority="1"] .own-target')).to_contain_text(
        "On your Enterprise plan: a first response within 15 minutes, around the clock"
    )


def test_a_target_changed_in_the_database_shows_on_both_pages(page, live_url):
    me = on_plan("Business")
    sign_in(page, live_url, me.email, PASSWORD)
    page.goto(f"{live_url}{PLANS}")
    cell = page.locator('tr[data-priority="2"] td.own-plan')
    expect(cell).to_contain_text("First response: 4 hours")

    PlanTarget.objects.filter(plan__name="Business", priority=Priority.P2).update(
        first_response=timedelta(hours=2, minutes=30)
    )
    page.reload()
    expect(cell).to_contain_text("First response: 2 hours 30 minutes")
    page.goto(f"{live_url}{PRIORITIES}")
    expect(page.locator('[data-priority="2"] .own-target')).to_contain_text(
        "a first response within 2 hours 30 minutes of business hours"
    )
