"""Canned replies: placeholders, the admin's checks, the case page's picker and its
render view, usage counted only when the message is sent, paired actions only on the
engineer's own click."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.urls import reverse

from cases.admin.case import CaseAdmin  # noqa: F401 - registers the admins
from cases.admin.macros import MacroForm
from cases.macros import render_macro, unknown_placeholders
from cases.models import Case, InfoRequestKind, Macro, MacroAction, Message, Status
from tests.factories import CaseFactory, EngineerFactory, UserFactory, customer

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)


def macro(**fields) -> Macro:
    fields.setdefault("name", "Greeting")
    fields.setdefault("body", "Hi {customer_first_name}, about {reference}. {engineer_name}")
    return Macro.objects.create(**fields)


def text_url(case: Case, macro_id: int) -> str:
    return reverse("admin:cases_case_macro_text", args=[case.pk, macro_id])


def action_url(case: Case, action: str) -> str:
    return reverse("admin:cases_case_workbench", args=[case.pk, action])


@pytest.fixture
def case(organisation):
    requester = customer(organisation, full_name="Ann Lee", email="ann@example.com")
    return CaseFactory(requester=requester, open=True)


@pytest.fixture
def erin():
    return EngineerFactory(full_name="Erin Engineer")


@pytest.fixture
def erin_client(client, erin):
    client.force_login(erin)
    return client


# --- Placeholders -----------------------------------------------------------------------


def test_placeholders_are_filled_for_the_case_and_the_engineer(case, erin):
    text = render_macro(macro(), case, erin)

    assert text == f"Hi Ann, about {case.reference}. Erin Engineer"


def test_a_customer_without_a_name_is_greeted_as_there_and_an_engineer_by_email(organisation):
    nameless = CaseFactory(requester=customer(organisation, full_name=""), open=True)
    engineer = EngineerFactory(full_name="", email="erin@example.com")

    text = render_macro(macro(), nameless, engineer)

    assert text.startswith("Hi there,")
    assert text.endswith("erin@example.com")


@time_machine.travel(NOW, tick=False)
def test_auto_close_date_is_the_clock_the_paired_action_starts(case, erin, settings):
    settings.CASE_PENDING_CUSTOMER_AUTO_CLOSE_DAYS = 14
    settings.CASE_RESOLVED_AUTO_CLOSE_DAYS = 7
    ask = macro(
        name="Ask",
        body="Closes on {auto_close_date}.",
        action=MacroAction.REQUEST_INFO,
        info_request_kind=InfoRequestKind.LOGS,
    )
    resolve = macro(name="Done", body="Closes on {auto_close_date}.", action=MacroAction.RESOLVE)
    plain = macro(name="Plain", body="Closes on {auto_close_date}.")

    assert render_macro(ask, case, erin) == "Closes on 16 Mar 2026."
    assert render_macro(resolve, case, erin) == "Closes on 9 Mar 2026."
    # An Open case has no clock running: nothing to promise.
    assert render_macro(plain, case, erin) == "Closes on ."


@time_machine.travel(NOW, tick=False)
def test_auto_close_date_is_the_day_in_the_customers_zone(organisation, erin):
    requester = customer(organisation, full_name="Kai", time_zone="Pacific/Auckland")
    pending = CaseFactory(
        requester=requester,
        pending_customer=True,
        pending_since=dt.datetime(2026, 3, 2, 11, 30, tzinfo=dt.UTC),
    )
    plain = macro(name="Plain", body="{auto_close_date}")

    # 16 Mar 11:30 UTC is already the 17th in Auckland.
    assert render_macro(plain, pending, erin) == "17 Mar 2026"


def test_values_are_plain_text_never_html_escaped_or_interpreted(organisation, erin):
    requester = customer(organisation, full_name="<b>Bo</b>&amp; {reference}")
    tricky = CaseFactory(requester=requester, open=True)

    text = render_macro(macro(body="Hi {customer_first_name}!"), tricky, erin)

    # Placeholders are filled once: a name that looks like one stays as typed.
    assert text == "Hi <b>Bo</b>&amp;!"


def test_double_braces_are_literal_braces(case, erin):
    body = "kubectl get pods -o jsonpath='{{.items[*].metadata.name}}' for {reference}"

    assert unknown_placeholders(body) == []
    assert render_macro(macro(body=body), case, erin) == (
        f"kubectl get pods -o jsonpath='{{.items[*].metadata.name}}' for {case.reference}"
    )


def test_no_attribute_lookups_or_format_specs():
    assert unknown_placeholders("{reference.__class__} {reference!r} {0} {} {Reference}") == [
        "reference.__class__",
        "reference!r",
        "0",
        "",
        "Reference",
    ]


# --- The admin's form -----------------------------------------------------------------


def form(**data) -> MacroForm:
    data = {"name": "M", "body": "Hi", "action": "", "info_request_kind": "", **data}
    data.setdefault("is_active", "on")
    return MacroForm(data)


def test_unknown_placeholders_are_refused_with_the_list_of_known_ones():
    bound = form(body="Hi {first_name}, see {ticket} and {first_name}")

    assert not bound.is_valid()
    error = bound.errors["body"][0]
    assert error.startswith("Unknown placeholders: {first_name}, {ticket}.")
    assert "{customer_first_name}, {reference}, {engineer_name}, {auto_close_date}" in error


def test_known_placeholders_are_accepted():
    assert form(
        body="{customer_first_name} {reference} {engineer_name} {auto_close_date}"
    ).is_valid()


def test_request_information_needs_a_kind_and_only_it_has_one():
    assert "info_request_kind" in form(action="request_info").errors
    assert "info_request_kind" in form(action="resolve", info_request_kind="logs").errors
    assert form(action="request_info", info_request_kind="logs").is_valid()


def test_engineers_add_macros_in_the_admin_and_are_recorded_as_their_author(erin_client, erin):
    response = erin_client.post(
        "/admin/cases/macro/add/",
        {
            "name": "Ask for kubelet logs",
            "body": "Hi {customer_first_name}, please send the kubelet logs.",
            "action": "request_info",
            "info_request_kind": "logs",
            "is_active": "on",
        },
    )

    assert response.status_code == 302, response.content
    saved = Macro.objects.get()
    assert (saved.created_by, saved.usage_count, saved.is_active) == (erin, 0, True)


def test_the_admin_shows_an_unknown_placeholder_error(erin_client):
    response = erin_client.post(
        "/admin/cases/macro/add/",
        {"name": "Bad", "body": "Hi {name}", "action": "", "info_request_kind": ""},
    )

    assert response.status_code == 200
    assert "Unknown placeholder: {name}." in response.content.decode()
    assert not Macro.objects.exists()


# --- The picker and the render view ----------------------------------------------------


def test_the_case_page_offers_active_macros_above_the_reply_box(erin_client, case):
    macro(name="Ask for kubelet logs")
    macro(name="Retired", is_active=False)

    page = erin_client.get(reverse("admin:cases_case_change", args=[case.pk])).content.decode()

    assert "Ask for kubelet logs" in page
    assert "Retired" not in page
    assert 'name="reply-macro"' in page
    assert page.index('id="wb-macro-select"') < page.index('name="reply-body"')
    assert "js/admin-macros.js" in page


def test_render_view_answers_the_filled_text_and_the_paired_action(erin_client, case):
    ask = macro(
        name="Ask for kubelet logs",
        body="Hi {customer_first_name}, <script>x</script>",
        action=MacroAction.REQUEST_INFO,
        info_request_kind=InfoRequestKind.LOGS,
    )

    response = erin_client.get(text_url(case, ask.pk))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert "no-store" in response["Cache-Control"]
    assert response.json() == {
        "id": ask.pk,
        "name": "Ask for kubelet logs",
        "text": "Hi Ann, <script>x</script>",
        "action": "request_info",
        "info_request_kind": "logs",
    }
    ask.refresh_from_db()
    assert (ask.usage_count, ask.last_used_at) == (0, None)


@pytest.mark.parametrize("who", ["anonymous", "customer", "staff_without_work"])
def test_render_view_is_a_404_for_anyone_but_engineers(client, case, who):
    greeting = macro()
    if who == "customer":
        client.force_login(case.requester)
    elif who == "staff_without_work":
        staff = UserFactory(is_staff=True)
        staff.user_permissions.add(Permission.objects.get(codename="view_case"))
        client.force_login(staff)

    response = client.get(text_url(case, greeting.pk))

    assert response.status_code == 404
    assert case.reference not in response.content.decode()


def test_render_view_404s_for_an_inactive_or_missing_macro_and_a_missing_case(erin_client, case):
    retired = macro(is_active=False)

    assert erin_client.get(text_url(case, retired.pk)).status_code == 404
    assert erin_client.get(text_url(case, 999_999)).status_code == 404
    assert (
        erin_client.get(
            reverse("admin:cases_case_macro_text", args=[999_999, retired.pk])
        ).status_code
        == 404
    )


def test_render_view_takes_get_only(erin_client, case):
    assert erin_client.post(text_url(case, macro().pk)).status_code == 405


# --- Usage counted on send, paired action only on the engineer's click -----------------


def test_a_reply_sent_with_a_macro_counts_one_use(erin_client, case):
    greeting = macro()
    text = erin_client.get(text_url(case, greeting.pk)).json()["text"]
    greeting.refresh_from_db()
    assert greeting.usage_count == 0  # inserting is not using

    with time_machine.travel(NOW, tick=False):
        response = erin_client.post(
            action_url(case, "reply"),
            {"reply-body": text + " Edited.", "reply-macro": greeting.pk},
        )

    assert response.status_code == 302
    greeting.refresh_from_db()
    assert (greeting.usage_count, greeting.last_used_at) == (1, NOW)
    assert case.messages.get().body == f"Hi Ann, about {case.reference}. Erin Engineer Edited."


def test_a_refused_send_counts_nothing(erin_client, case):
    greeting = macro()

    # An empty reply is refused by the form; a reply to a case closed meanwhile by the service.
    erin_client.post(action_url(case, "reply"), {"reply-body": "", "reply-macro": greeting.pk})
    Case.objects.filter(pk=case.pk).update(status=Status.CLOSED)
    erin_client.post(action_url(case, "reply"), {"reply-body": "Hi", "reply-macro": greeting.pk})

    greeting.refresh_from_db()
    assert greeting.usage_count == 0
    assert not Message.objects.exists()


def test_a_forged_or_stale_macro_id_never_stops_the_reply(erin_client, case):
    for value in ["not-a-number", "999999", "²"]:
        response = erin_client.post(
            action_url(case, "reply"), {"reply-body": f"Sent with {value}", "reply-macro": value}
        )
        assert response.status_code == 302

    assert case.messages.count() == 3


def test_request_information_with_a_macro_asks_for_logs_with_its_text(erin_client, case):
    ask = macro(
        name="Ask for kubelet logs",
        body="Hi {customer_first_name}, please attach the kubelet logs.",
        action=MacroAction.REQUEST_INFO,
        info_request_kind=InfoRequestKind.LOGS,
    )
    picked = erin_client.get(text_url(case, ask.pk)).json()
    case.refresh_from_db()
    assert case.status == Status.OPEN  # picking changed nothing

    response = erin_client.post(
        action_url(case, "request_info"),
        {
            "request_info-seen_status": "open",
            "request_info-kind": picked["info_request_kind"],
            "request_info-message": picked["text"],
            "request_info-macro": picked["id"],
        },
    )

    assert response.status_code == 302
    case.refresh_from_db()
    assert (case.status, case.info_request_kind) == (Status.PENDING_CUSTOMER, "logs")
    message = case.messages.get()
    assert (message.body, message.info_request_kind) == (
        "Hi Ann, please attach the kubelet logs.",
        "logs",
    )
    ask.refresh_from_db()
    assert ask.usage_count == 1


def test_request_information_refused_for_a_changed_case_counts_nothing(erin_client, case):
    ask = macro(action=MacroAction.REQUEST_INFO, info_request_kind=InfoRequestKind.LOGS)
    Case.objects.filter(pk=case.pk).update(status=Status.IN_PROGRESS)

    response = erin_client.post(
        action_url(case, "request_info"),
        {
            "request_info-seen_status": "open",
            "request_info-kind": "logs",
            "request_info-message": "Logs please",
            "request_info-macro": ask.pk,
        },
    )

    assert response.status_code == 303
    ask.refresh_from_db()
    assert ask.usage_count == 0
    # The refused form comes back with the macro still named, to count it on the retry.
    page = erin_client.get(response["Location"]).content.decode()
    assert f'name="request_info-macro" value="{ask.pk}"' in page


def test_resolve_with_a_macro_counts_it(erin_client, organisation):
    working = CaseFactory(in_progress=True)
    done = macro(name="Done", body="Fixed.", action=MacroAction.RESOLVE)

    erin_client.post(
        action_url(working, "resolve"),
        {
            "resolve-seen_status": "in_progress",
            "resolve-message": "Fixed.",
            "resolve-macro": done.pk,
        },
    )

    working.refresh_from_db()
    done.refresh_from_db()
    assert (working.status, done.usage_count) == (Status.RESOLVED, 1)
