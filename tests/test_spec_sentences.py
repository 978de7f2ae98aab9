"""The public help page "Understanding Case Statuses" is the promise made to customers.

One test per promise, named after its sentence. Each drives the product the way a
customer meets it (pages through the test client, engineers' and the scheduler's moves
through the services) and fails if the product stops keeping that promise.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import pytest
from django.urls import reverse

from cases import services
from cases.exceptions import DeletionForbidden
from cases.models import Case, InfoRequestKind, Notification, NotificationKind, Status
from tests.factories import CaseFactory, EngineerFactory, customer

pytestmark = pytest.mark.django_db

HELP_URL = "/help/case-statuses/"
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


# --- Reading pages as a person reads them ----------------------------------------------


class _VisibleText(HTMLParser):
    """Text a reader sees: tags become spaces; scripts, styles and hidden text are dropped."""

    HIDDEN = {"script", "style", "head", "title"}
    VOID = {
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "source",
        "wbr",
    }

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._open: list[tuple[str, bool]] = []  # (tag, hidden) for each open element

    @property
    def _hidden(self) -> bool:
        return bool(self._open) and self._open[-1][1]

    def handle_starttag(self, tag, attrs):
        self.parts.append(" ")
        if tag in self.VOID:
            return
        hidden = (
            self._hidden
            or tag in self.HIDDEN
            or "visually-hidden" in (dict(attrs).get("class") or "")
        )
        self._open.append((tag, hidden))

    def handle_endtag(self, tag):
        self.parts.append(" ")
        while self._open:
            if self._open.pop()[0] == tag:
                break

    def handle_data(self, data):
        if not self._hidden:
            self.parts.append(data)


def visible_text(response) -> str:
    parser = _VisibleText()
    parser.feed(response.content.decode())
    return re.sub(r"\s+", " ", "".join(parser.parts)).strip()


def flow_changes(response) -> list[str]:
    """The status changes the diagram's text alternative lists, as "From → To"."""
    content = response.content.decode()
    listed = content[content.index('<details class="flow-changes">') :].split("</details>")[0]
    return re.findall(r"<li[^>]*>([^:<]+):", listed)


def signed_in(client, user):
    client.force_login(user)
    return client


def case_page(client, case: Case) -> str:
    response = client.get(case.get_absolute_url())
    assert response.status_code == 200
    return visible_text(response)


def reload(case: Case) -> Case:
    return Case.objects.get(pk=case.pk)


# --- The help page carries the text word for word --------------------------------------


def test_help_page_status_reference_table_word_for_word(client):
    text = visible_text(client.get(HELP_URL))

    assert "Understanding Case Statuses" in text
    assert (
        "What each support case status means and what action (if any) is required from you."
        in text
    )
    assert (
        "Status reference Status Meaning Action required? "
        "New Case received, not yet assigned None — wait for assignment "
        "Open Assigned to an engineer, actively being worked None — engineer is investigating "
        "In Progress Engineer is actively working on a fix or investigation None — updates coming "
        "Pending Customer Engineer needs more information from you Yes — reply to unblock "
        "Resolved Issue has been fixed or answered Confirm if it worked, or reopen "
        "Closed Case archived after resolution Reopen if issue recurs"
    ) in text


def test_help_page_status_flow_word_for_word(client):
    response = client.get(HELP_URL)

    # The diagram's text alternative carries what the old drawing showed: the loop
    # through Pending Customer and the way on to Resolved, then Closed.
    changes = flow_changes(response)
    for change in (
        "New → Open",
        "Open → In Progress",
        "In Progress → Pending Customer",
        "Pending Customer → Open",
        "Pending Customer → Resolved",
        "Resolved → Closed",
    ):
        assert change in changes
    text = visible_text(response)
    assert "Most cases move through: New → Open → In Progress → Resolved → Closed." in text
    assert (
        "Cases that require your input cycle back to Pending Customer until you reply, "
        "at which point they return to Open or In Progress."
    ) in text


def test_help_page_pending_customer_section_with_the_four_common_requests(client):
    text = visible_text(client.get(HELP_URL))

    assert (
        "Pending Customer — what to do "
        "When a case reaches Pending Customer, you will receive an email notification. "
        "The engineer's message will appear in the case thread explaining what they need. "
        "Common requests include: "
        "Additional logs or error output "
        "Steps to reproduce the issue in a specific environment "
        "Confirmation of your current configuration (Terraform state, Kubernetes version, etc.) "
        "Approval to make a change on your behalf "
        "Cases in Pending Customer status that receive no reply within 14 days are "
        "automatically closed. You can reopen a closed case at any time."
    ) in text


def test_help_page_marking_a_case_as_resolved_section(client):
    text = visible_text(client.get(HELP_URL))

    assert (
        "Marking a case as resolved "
        "You can mark a case resolved yourself from the My Cases tab if the issue is fixed "
        "before an engineer does so. This helps keep your case list clean and signals to the "
        "team that no further action is needed. "
        "If the same issue recurs after a case is closed, use the Reopen Case button rather "
        "than opening a new case — this preserves the full history and routes you back to "
        "the original engineer where possible."
    ) in text


def test_help_page_closure_policy_table_and_closed_cases_are_never_deleted(client):
    text = visible_text(client.get(HELP_URL))

    assert (
        "Case closure policy Scenario Closes after "
        "No reply on Pending Customer 14 days "
        "Resolved with no objection 7 days "
        "Manual close by customer Immediately "
        "Closed cases are never deleted — they remain in your case history for audit and "
        "reference purposes."
    ) in text


def test_help_page_durations_come_from_the_settings(client, settings):
    settings.CASE_PENDING_CUSTOMER_AUTO_CLOSE_DAYS = 21
    settings.CASE_RESOLVED_AUTO_CLOSE_DAYS = 3

    text = visible_text(client.get(HELP_URL))

    assert "receive no reply within 21 days are automatically closed." in text
    assert "No reply on Pending Customer 21 days Resolved with no objection 3 days" in text
    assert "14 days" not in text and "7 days" not in text


# --- Status reference: what each status means, and what the customer is asked to do ---


def test_new_case_received_not_yet_assigned_none_wait_for_assignment(client, customer):
    response = signed_in(client, customer).post(
        reverse("cases:new"),
        {"subject": "VPN drops", "description": "Every hour.", "priority": 3},
    )
    case = Case.objects.get(subject="VPN drops")
    assert response.status_code == 302

    text = case_page(client, case)

    assert case.status == Status.NEW and case.assignee is None
    assert "New Case received, not yet assigned." in text
    assert "Action required? None — wait for assignment." in text
    assert "Engineer Not yet assigned" in text


def test_open_assigned_to_an_engineer_none_engineer_is_investigating(client):
    case = CaseFactory()
    engineer = EngineerFactory(full_name="Ada Engineer")
    services.case_assign(case=case, engineer=engineer)

    text = case_page(signed_in(client, case.requester), case)

    assert reload(case).status == Status.OPEN
    assert "Open Assigned to an engineer, actively being worked." in text
    assert "Action required? None — engineer is investigating." in text
    assert "Engineer Ada Engineer" in text


def test_in_progress_engineer_is_actively_working_none_updates_coming(client):
    case = CaseFactory(open=True)
    services.case_start_work(case=case, engineer=case.assignee)

    text = case_page(signed_in(client, case.requester), case)

    assert reload(case).status == Status.IN_PROGRESS
    assert "In Progress Engineer is actively working on a fix or investigation." in text
    assert "Action required? None — updates coming." in text


def test_pending_customer_yes_reply_to_unblock(client):
    case = CaseFactory(in_progress=True)
    services.case_request_info(
        case=case,
        engineer=case.assignee,
        message="Which region?",
        kind=InfoRequestKind.CONFIGURATION,
    )
    signed_in(client, case.requester)
    assert "Action required? Yes — reply to unblock." in case_page(client, case)

    client.post(reverse("cases:reply", args=[case.reference]), {"body": "eu-west-1"})

    assert reload(case).status == Status.IN_PROGRESS
    assert "Action required? None — updates coming." in case_page(client, case)


def test_resolved_confirm_if_it_worked_or_reopen(client):
    case = CaseFactory(resolved=True)
    signed_in(client, case.requester)

    text = case_page(client, case)
    client.post(reverse("cases:reply", args=[case.reference]), {"body": "Still failing."})

    assert "Action required? Confirm if it worked, or reopen." in text
    assert "Reopen Case" in text
    # A reply saying it did not work is an objection: the case is worked again.
    assert reload(case).status == Status.OPEN


def test_closed_case_archived_after_resolution_reopen_if_issue_recurs(client):
    case = CaseFactory(closed=True)
    signed_in(client, case.requester)

    text = case_page(client, case)
    client.post(reverse("cases:reopen", args=[case.reference]), {"message": "It is back."})

    assert "Closed Case archived after resolution." in text
    assert "Action required? Reopen if issue recurs." in text
    assert reload(case).status == Status.OPEN


# --- Status flow ---------------------------------------------------------------------


def test_most_cases_move_through_new_open_in_progress_resolved_closed(time_machine):
    time_machine.move_to(START, tick=False)
    requester = customer()
    engineer = EngineerFactory()
    case = services.case_open(requester=requester, subject="S", description="D", priority=3)
    services.case_assign(case=case, engineer=engineer)
    services.case_start_work(case=case, engineer=engineer)
    services.case_resolve(case=case, engineer=engineer, message="Fixed.")
    time_machine.shift(timedelta(days=7, seconds=1))
    services.close_stale_cases()

    path = [(e.from_status, e.to_status) for e in reload(case).events.exclude(transition="open")]
    assert path == [
        (Status.NEW, Status.OPEN),
        (Status.OPEN, Status.IN_PROGRESS),
        (Status.IN_PROGRESS, Status.RESOLVED),
        (Status.RESOLVED, Status.CLOSED),
    ]


@pytest.mark.parametrize("asked_from", [Status.OPEN, Status.IN_PROGRESS])
def test_cases_that_require_your_input_cycle_back_to_pending_customer_until_you_reply(
    client, asked_from
):
    case = CaseFactory(**{asked_from: True})
    engineer = case.assignee
    signed_in(client, case.requester)
    reply_url = reverse("cases:reply", args=[case.reference])

    services.case_request_info(
        case=case, engineer=engineer, message="Logs?", kind=InfoRequestKind.LOGS
    )
    client.post(reply_url, {"body": "Attached."})
    assert reload(case).status == asked_from  # "they return to Open or In Progress"

    services.case_request_info(
        case=case, engineer=engineer, message="More?", kind=InfoRequestKind.LOGS
    )
    assert reload(case).status == Status.PENDING_CUSTOMER  # the loop
    client.post(reply_url, {"body": "Here."})
    assert reload(case).status == asked_from


def test_pending_customer_can_go_on_to_resolved_then_closed(client):
    case = CaseFactory(pending_customer=True)
    signed_in(client, case.requester)

    client.post(reverse("cases:mark_resolved", args=[case.reference]))
    assert reload(case).status == Status.RESOLVED
    client.post(reverse("cases:close", args=[case.reference]), {"confirm": "on"})
    assert reload(case).status == Status.CLOSED


# --- Pending Customer — what to do ----------------------------------------------------


def test_when_a_case_reaches_pending_customer_you_will_receive_an_email_notification(
    django_capture_on_commit_callbacks, mailoutbox
):
    case = CaseFactory(in_progress=True)

    with django_capture_on_commit_callbacks(execute=True):
        services.case_request_info(
            case=case,
            engineer=case.assignee,
            message="Please send `kubectl version` output.",
            kind=InfoRequestKind.CONFIGURATION,
        )

    assert [email.to for email in mailoutbox] == [[case.requester.email]]
    email = mailoutbox[0]
    assert case.reference in email.subject
    assert "Please send `kubectl version` output." in email.body
    assert Notification.objects.get(case=case).kind == NotificationKind.PENDING_CUSTOMER


def test_the_engineers_message_will_appear_in_the_case_thread_explaining_what_they_need(client):
    case = CaseFactory(in_progress=True)
    services.case_request_info(
        case=case,
        engineer=case.assignee,
        message="Run the export with --verbose and attach the output.",
        kind=InfoRequestKind.LOGS,
    )

    text = case_page(signed_in(client, case.requester), case)
    conversation = text[text.index("Conversation") :]

    assert "Run the export with --verbose and attach the output." in conversation
    assert "Asked for: Additional logs or error output" in conversation


@pytest.mark.parametrize(
    ("kind", "shown"),
    [
        (InfoRequestKind.LOGS, "Additional logs or error output"),
        (InfoRequestKind.STEPS, "Steps to reproduce the issue"),
        (InfoRequestKind.CONFIGURATION, "Confirmation of your current configuration"),
        (InfoRequestKind.APPROVAL, "Approval to make a change on your behalf"),
    ],
)
def test_common_requests_include_logs_steps_configuration_and_approval(client, kind, shown):
    case = CaseFactory(in_progress=True)
    services.case_request_info(case=case, engineer=case.assignee, message="Please.", kind=kind)

    text = case_page(signed_in(client, case.requester), case)

    asked = "asks for your approval" if kind == InfoRequestKind.APPROVAL else f"needs: {shown}"
    assert asked in text
    assert f"Asked for: {shown}" in text


def test_approval_to_make_a_change_on_your_behalf_is_answered_with_approve(client):
    case = CaseFactory(in_progress=True)
    services.case_request_info(
        case=case,
        engineer=case.assignee,
        message="May I restart the pods?",
        kind=InfoRequestKind.APPROVAL,
    )
    signed_in(client, case.requester)

    client.post(reverse("cases:approval", args=[case.reference]), {"decision": "approve"})

    case = reload(case)
    assert case.status == Status.IN_PROGRESS
    assert case.messages.filter(author=case.requester, body__startswith="Approved").exists()


def test_no_reply_within_14_days_pending_customer_cases_are_automatically_closed(time_machine):
    time_machine.move_to(START, tick=False)
    case = CaseFactory(in_progress=True)
    services.case_request_info(
        case=case, engineer=case.assignee, message="Logs?", kind=InfoRequestKind.LOGS
    )

    time_machine.shift(timedelta(days=14) - timedelta(seconds=1))
    services.close_stale_cases()
    assert reload(case).status == Status.PENDING_CUSTOMER

    time_machine.shift(timedelta(seconds=1))
    services.close_stale_cases()
    assert reload(case).status == Status.CLOSED


def test_you_can_reopen_a_closed_case_at_any_time(client, time_machine):
    time_machine.move_to(START, tick=False)
    case = CaseFactory(pending_customer=True)
    time_machine.shift(timedelta(days=15))
    services.close_stale_cases()
    assert reload(case).status == Status.CLOSED

    time_machine.shift(timedelta(days=3 * 365))
    signed_in(client, case.requester).post(
        reverse("cases:reopen", args=[case.reference]), {"message": ""}
    )

    assert reload(case).status == Status.OPEN


# --- Marking a case as resolved -------------------------------------------------------


@pytest.mark.parametrize("status", ["new", "open", "in_progress", "pending_customer"])
def test_you_can_mark_a_case_resolved_yourself_from_the_my_cases_tab(client, status):
    case = CaseFactory(**({status: True} if status != "new" else {}))
    signed_in(client, case.requester)
    my_cases = client.get(reverse("cases:list")).content.decode()
    row = my_cases[my_cases.index(f'data-case-reference="{case.reference}"') :].split("</li>")[0]
    action = reverse("cases:mark_resolved", args=[case.reference])
    assert f'action="{action}"' in row and "Mark as resolved" in row

    response = client.post(action, {"next": reverse("cases:list")})

    assert response.status_code == 302 and response["Location"] == reverse("cases:list")
    assert reload(case).status == Status.RESOLVED


def test_marking_resolved_keeps_your_case_list_clean_and_signals_the_team(
    client, django_capture_on_commit_callbacks, mailoutbox
):
    case = CaseFactory(pending_customer=True)
    signed_in(client, case.requester)

    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("cases:mark_resolved", args=[case.reference]))

    needs_reply = client.get(reverse("cases:list"), {"status": Status.PENDING_CUSTOMER})
    assert f'data-case-reference="{case.reference}"' not in needs_reply.content.decode()
    assert [email.to for email in mailoutbox] == [[case.assignee.email]]


def test_reopen_case_rather_than_opening_a_new_case_preserves_the_full_history(client):
    case = CaseFactory(open=True)
    services.case_reply(case=case, author=case.requester, body="First report.")
    services.case_resolve(case=case, engineer=case.assignee, message="Fixed.")
    services.case_close(case=case, actor=case.requester)
    events_before = list(case.events.values_list("pk", flat=True))
    signed_in(client, case.requester)

    assert "Reopen Case" in case_page(client, case)
    client.post(reverse("cases:reopen", args=[case.reference]), {"message": "It came back."})

    case = reload(case)
    assert Case.objects.count() == 1
    assert list(case.events.values_list("pk", flat=True))[: len(events_before)] == events_before
    text = case_page(client, case)
    for said in ("First report.", "Fixed.", "It came back."):
        assert said in text


def test_reopen_case_routes_you_back_to_the_original_engineer(client):
    original = EngineerFactory(full_name="Orla Original")
    case = CaseFactory(closed=True, engineer=original)

    signed_in(client, case.requester).post(
        reverse("cases:reopen", args=[case.reference]), {"message": ""}
    )

    case = reload(case)
    assert (case.status, case.assignee) == (Status.OPEN, original)
    assert "Engineer Orla Original" in case_page(client, case)


def test_reopen_case_waits_for_a_new_engineer_where_the_original_is_gone(client):
    original = EngineerFactory()
    case = CaseFactory(closed=True, engineer=original)
    original.is_active = False
    original.save()

    signed_in(client, case.requester).post(
        reverse("cases:reopen", args=[case.reference]), {"message": ""}
    )

    case = reload(case)
    assert (case.status, case.assignee) == (Status.NEW, None)


# --- Case closure policy ------------------------------------------------------------


def test_resolved_with_no_objection_closes_after_7_days(time_machine):
    time_machine.move_to(START, tick=False)
    case = CaseFactory(open=True)
    services.case_resolve(case=case, engineer=case.assignee)

    time_machine.shift(timedelta(days=7) - timedelta(seconds=1))
    services.close_stale_cases()
    assert reload(case).status == Status.RESOLVED

    time_machine.shift(timedelta(seconds=1))
    services.close_stale_cases()
    assert reload(case).status == Status.CLOSED


def test_resolved_with_an_objection_does_not_close_after_7_days(client, time_machine):
    time_machine.move_to(START, tick=False)
    case = CaseFactory(open=True)
    services.case_resolve(case=case, engineer=case.assignee)
    time_machine.shift(timedelta(days=6))
    signed_in(client, case.requester).post(
        reverse("cases:reply", args=[case.reference]), {"body": "Not fixed for us."}
    )

    time_machine.shift(timedelta(days=2))
    services.close_stale_cases()

    assert reload(case).status == Status.OPEN


def test_manual_close_by_customer_closes_immediately(client, time_machine):
    time_machine.move_to(START, tick=False)
    case = CaseFactory(in_progress=True)

    signed_in(client, case.requester).post(
        reverse("cases:close", args=[case.reference]), {"confirm": "on"}
    )

    case = reload(case)
    assert (case.status, case.closed_at) == (Status.CLOSED, START)


def test_closed_cases_are_never_deleted_they_remain_in_your_case_history(client):
    case = CaseFactory(closed=True)
    signed_in(client, case.requester)

    with pytest.raises(DeletionForbidden):
        reload(case).delete()
    with pytest.raises(DeletionForbidden):
        Case.objects.filter(pk=case.pk).delete()

    closed_tab = client.get(reverse("cases:list"), {"status": Status.CLOSED}).content.decode()
    assert f'data-case-reference="{case.reference}"' in closed_tab
    assert client.get(case.get_absolute_url()).status_code == 200
