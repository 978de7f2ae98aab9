"""The case page's canned replies and "someone else is here", in Chromium at 1280 × 800."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from cases import presence
from cases.models import Case, InfoRequestKind, Macro, MacroAction, Status
from tests.factories import PASSWORD, CaseFactory, EngineerFactory, customer

VIEWPORT = {"width": 1280, "height": 800}


def admin_sign_in(context, live_url: str, engineer):
    page = context.new_page()
    page.goto(f"{live_url}/admin/")
    page.get_by_label("Email address").fill(engineer.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_url}/admin/")
    return page


def case_page(live_url: str, case: Case) -> str:
    return f"{live_url}/admin/cases/case/{case.pk}/change/"


@pytest.fixture
def open_case(organisation):
    return CaseFactory(
        requester=customer(organisation, full_name="Ann Lee"),
        open=True,
        subject="Nodes NotReady after the upgrade",
    )


def test_a_macro_fills_the_reply_box_to_edit_and_counts_once_sent(browser, live_url, open_case):
    erin = EngineerFactory(full_name="Erin Engineer")
    pods = Macro.objects.create(
        name="Pods in the cluster",
        body="Hi {customer_first_name}, please send `kubectl get pods -A` for {reference}."
        "\n\n{engineer_name}",
    )
    page = admin_sign_in(browser.new_context(viewport=VIEWPORT), live_url, erin)
    page.goto(case_page(live_url, open_case))

    page.get_by_label("Insert a macro").select_option(label="Pods in the cluster")

    box = page.locator("textarea[name='reply-body']")
    expected = (
        f"Hi Ann, please send `kubectl get pods -A` for {open_case.reference}.\n\nErin Engineer"
    )
    expect(box).to_have_value(expected)
    expect(box).to_be_focused()
    expect(page.locator("[data-macro-status]")).to_contain_text("is in the reply box")
    pods.refresh_from_db()
    assert pods.usage_count == 0  # inserted, not sent
    assert not open_case.messages.exists()

    box.press_sequentially(" Thanks!")
    page.get_by_role("button", name="Send public reply").click()

    expect(page.locator(".messagelist")).to_contain_text("Your reply was added to the thread")
    expect(page.locator(".wb-messages")).to_contain_text("Erin Engineer Thanks!")
    assert open_case.messages.get().body == expected + " Thanks!"
    pods.refresh_from_db()
    assert pods.usage_count == 1


def test_a_paired_macro_prepares_request_information_and_waits_for_the_click(
    browser, live_url, open_case
):
    erin = EngineerFactory(full_name="Erin Engineer")
    ask = Macro.objects.create(
        name="Ask for kubelet logs",
        body="Hi {customer_first_name}, please attach the kubelet logs to {reference}.",
        action=MacroAction.REQUEST_INFO,
        info_request_kind=InfoRequestKind.LOGS,
    )
    page = admin_sign_in(browser.new_context(viewport=VIEWPORT), live_url, erin)
    page.goto(case_page(live_url, open_case))

    page.get_by_label("Insert a macro").select_option(
        label="Ask for kubelet logs (+ Request information)"
    )

    ask_form = page.locator("form.wb-action-request_info")
    expect(ask_form).to_have_class(re.compile("wb-macro-target"))
    expect(ask_form.locator(".wb-macro-note")).to_contain_text(
        "nothing is sent until you press Request information"
    )
    expect(ask_form.get_by_label("What do you need?")).to_have_value("logs")
    message = ask_form.get_by_label("Message to the customer")
    expect(message).to_have_value(
        f"Hi Ann, please attach the kubelet logs to {open_case.reference}."
    )
    expect(page.locator("[data-macro-status]")).to_contain_text(
        "Edit it, then press Request information."
    )
    # Nothing happened yet: the case waits for the engineer's click.
    page.wait_for_timeout(500)
    open_case.refresh_from_db()
    ask.refresh_from_db()
    assert (open_case.status, ask.usage_count) == (Status.OPEN, 0)

    message.press("End")
    message.press_sequentially(" The last two hours are enough.")
    ask_form.get_by_role("button", name="Request information").click()

    expect(page.locator(".messagelist")).to_contain_text(
        f"{open_case.reference} is Pending Customer"
    )
    open_case.refresh_from_db()
    assert (open_case.status, open_case.info_request_kind) == (Status.PENDING_CUSTOMER, "logs")
    posted = open_case.messages.get()
    assert posted.info_request_kind == "logs"
    assert posted.body.endswith("to " + open_case.reference + ". The last two hours are enough.")
    ask.refresh_from_db()
    assert ask.usage_count == 1


def test_two_engineers_on_one_case_see_each_other_and_who_is_typing(
    browser, live_url, open_case, monkeypatch
):
    monkeypatch.setattr(presence, "BEAT_SECONDS", 1)
    alex = EngineerFactory(full_name="Alex Engineer")
    erin = EngineerFactory(full_name="Erin Engineer")
    alex_page = admin_sign_in(browser.new_context(viewport=VIEWPORT), live_url, alex)
    erin_page = admin_sign_in(browser.new_context(viewport=VIEWPORT), live_url, erin)

    alex_page.goto(case_page(live_url, open_case))
    erin_page.goto(case_page(live_url, open_case))

    erin_banner = erin_page.locator("[data-presence-text]")
    alex_banner = alex_page.locator("[data-presence-text]")
    expect(erin_banner).to_have_text("Alex Engineer is also viewing this case.")
    expect(alex_banner).to_have_text("Erin Engineer is also viewing this case.")
    expect(erin_banner).to_be_in_viewport()
    expect(erin_banner).not_to_have_class(re.compile("wb-presence-typing"))

    alex_page.locator("textarea[name='reply-body']").press_sequentially("Looking into it")

    expect(erin_banner).to_have_text("Alex Engineer is typing a reply…")
    expect(erin_banner).to_have_class(re.compile("wb-presence-typing"))

    # Alex leaves: Erin's banner empties without waiting for Alex's beat to expire.
    alex_page.goto(f"{live_url}/admin/")
    expect(erin_banner).to_be_empty()
    expect(erin_banner).to_be_hidden()


def test_the_refusal_of_a_stale_action_stays_with_someone_else_on_the_case(
    browser, live_url, open_case, monkeypatch
):
    monkeypatch.setattr(presence, "BEAT_SECONDS", 1)
    alex = EngineerFactory(full_name="Alex Engineer")
    erin = EngineerFactory(full_name="Erin Engineer")
    alex_page = admin_sign_in(browser.new_context(viewport=VIEWPORT), live_url, alex)
    erin_page = admin_sign_in(browser.new_context(viewport=VIEWPORT), live_url, erin)
    alex_page.goto(case_page(live_url, open_case))
    erin_page.goto(case_page(live_url, open_case))
    expect(erin_page.locator("[data-presence-text]")).to_contain_text("Alex Engineer")

    alex_page.locator("form.wb-action-start_work").get_by_role("button", name="Start work").click()
    expect(alex_page.locator(".messagelist")).to_contain_text("is In Progress")
    erin_page.locator("form.wb-action-start_work").get_by_role("button", name="Start work").click()

    expect(erin_page.locator(".messagelist")).to_contain_text("changed while you were looking")
    open_case.refresh_from_db()
    assert open_case.status == Status.IN_PROGRESS
