"""Every customer page, the profile and the unsubscribe link's page: no serious or
critical axe-core violations, no CSP violations, and nothing wider than a 375px phone
screen."""

from importlib import import_module

from axe_playwright_python.sync_playwright import Axe
from django.apps import apps
from django.conf import settings

from cases import services
from cases.models import InfoRequestKind
from portal import email_preferences
from portal.models import EmailTopic
from tests.browser.conftest import sign_in
from tests.factories import PASSWORD, CaseFactory, customer

PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1280, "height": 900}
AXE = Axe()
OVERFLOWING_ELEMENTS = """
[...document.querySelectorAll('body *')]
  .filter(el => el.getBoundingClientRect().right > document.documentElement.clientWidth)
  .slice(0, 3)
  .map(el => el.tagName.toLowerCase() + (el.className ? '.' + el.className : ''))
"""


def page_problems(page, name: str) -> list[str]:
    problems = []
    results = AXE.run(page).response
    for violation in results["violations"]:
        if violation["impact"] in ("serious", "critical"):
            targets = [node["target"] for node in violation["nodes"]][:3]
            problems.append(f"{name}: axe {violation['id']} ({violation['impact']}) at {targets}")
    page.set_viewport_size(PHONE)
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    if overflow > 0:
        culprits = page.evaluate(OVERFLOWING_ELEMENTS)
        problems.append(f"{name}: {overflow}px wider than a 375px screen: {culprits}")
    page.set_viewport_size(DESKTOP)
    return problems


def test_customer_pages_are_accessible_and_fit_a_phone(page, live_url):
    # The service-level policy (each test's flush empties it), so that a case has a
    # response target running and the help pages have plans to show.
    import_module("cases.migrations.0017_seed_service_levels").seed(apps, None)
    me = customer(sees_organisation=True)
    waiting = services.case_open(
        requester=me, subject="Dashboard slow", description="Since Monday.", priority=2
    )
    assert waiting.response_due_at is not None
    pending = CaseFactory(requester=me, open=True, subject="Please approve a restart " + "x" * 60)
    services.case_request_info(
        case=pending,
        engineer=pending.assignee,
        message="May I restart the node pool? " + "averyveryverylongwordwithoutspaces" * 4,
        kind=InfoRequestKind.APPROVAL,
    )
    services.case_reply(case=pending, author=pending.assignee, body="Also, here is a note.")
    # Shared with a colleague whose address is long: the people list must still fit.
    colleague = customer(
        me.membership.organisation,
        full_name="Maximiliane Colleague-Oberhauser",
        email="maximiliane.colleague-oberhauser.operations@example.com",
    )
    services.case_add_participants(
        case=pending, actor=me, addresses=[colleague.email], message="Please approve."
    )
    closed = CaseFactory(requester=me, closed=True)
    CaseFactory(requester=me, resolved=True)
    unsubscribe_path = email_preferences.unsubscribe_url(me, EmailTopic.REMINDERS).removeprefix(
        settings.SITE_URL
    )
    csp_errors = []
    page.on(
        "console",
        lambda msg: "Content Security Policy" in msg.text and csp_errors.append(msg.text),
    )
    page.set_viewport_size(DESKTOP)
    problems = []

    page.goto(f"{live_url}/accounts/login/")
    problems += page_problems(page, "sign in")
    page.goto(f"{live_url}/accounts/password_reset/")
    problems += page_problems(page, "password reset")

    sign_in(page, live_url, me.email, PASSWORD)
    pages = {
        "my cases": "/cases/",
        "my organisation's cases": "/cases/?scope=organisation",
        "shared with me": "/cases/?scope=shared",
        "open a case": "/cases/new/",
        "pending case": pending.get_absolute_url(),
        "case with a response target": waiting.get_absolute_url(),
        "closed case": closed.get_absolute_url(),
        "help": "/help/case-statuses/",
        "help: case priorities": "/help/case-priorities/",
        "help: plan comparison": "/help/plan-comparison/",
        "not found": "/cases/CS-999999/",
        "profile": "/accounts/profile/",
        "unsubscribe": unsubscribe_path,
    }
    for name, path in pages.items():
        page.goto(f"{live_url}{path}")
        if name == "pending case":
            page.locator("summary", has_text="Close case").click()
        if name == "help":  # the status flow's changes in words, checked too
            page.locator("summary", has_text="Every status change in words").click()
        problems += page_problems(page, name)

    # A refused form with errors shown.
    page.goto(f"{live_url}/cases/new/")
    page.get_by_role("button", name="Open case").click()
    problems += page_problems(page, "open a case with errors")
    page.goto(f"{live_url}/accounts/profile/")
    page.get_by_label("Time zone").select_option("Europe/Paris")
    page.get_by_role("button", name="Save").click()
    problems += page_problems(page, "profile saved")
    page.goto(f"{live_url}{unsubscribe_path}")
    page.get_by_role("button", name="Unsubscribe").click()
    problems += page_problems(page, "unsubscribed")
    page.goto(f"{live_url}{pending.get_absolute_url()}")
    page.get_by_label("Colleague's email address").fill("someone@elsewhere.example")
    page.get_by_role("button", name="Add colleague").click()
    page.locator("[data-error-summary]").wait_for()
    problems += page_problems(page, "add a colleague with errors")

    assert problems == []
    assert csp_errors == []
