"""Customer actions on one case: Reply, Approve/Decline, Mark as resolved, Close case, Reopen Case.

Every action is a CSRF-protected POST through a service; a refused action says why and
keeps what the customer typed; another customer's case answers 404 on every URL.
"""

import pytest
from django.test import Client
from django.urls import reverse

from cases import services
from cases.models import Actor, CaseEvent, InfoRequestKind, Message, Status
from tests.factories import CaseFactory, EngineerFactory, customer

pytestmark = pytest.mark.django_db

ACTIONS = ["reply", "approval", "mark_resolved", "close", "reopen"]
VALID_POST = {
    "reply": {"body": "Here are the logs."},
    "approval": {"decision": "approve"},
    "mark_resolved": {},
    "close": {"confirm": "on"},
    "reopen": {"message": "It came back."},
}


def action_url(case, action: str) -> str:
    return reverse(f"cases:{action}", kwargs={"reference": case.reference})


@pytest.fixture
def signed_in(client):
    def sign_in(user):
        client.force_login(user)
        return client

    return sign_in


# --- Reply ------------------------------------------------------------------------------


def test_reply_on_pending_customer_returns_case_to_the_engineer(signed_in):
    case = CaseFactory(pending_customer=True, return_status=Status.IN_PROGRESS)
    client = signed_in(case.requester)

    response = client.post(action_url(case, "reply"), {"body": "Logs attached."}, follow=True)

    case.refresh_from_db()
    assert case.status == Status.IN_PROGRESS
    assert case.pending_since is None
    assert b"Your reply has been added" in response.content
    assert b'data-case-status="in_progress"' in response.content
    assert case.messages.filter(body="Logs attached.", author_kind=Actor.CUSTOMER).exists()


def test_reply_on_open_case_joins_the_thread_without_changing_status(signed_in):
    case = CaseFactory(open=True)
    client = signed_in(case.requester)

    response = client.post(action_url(case, "reply"), {"body": "One more detail."})

    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == Status.OPEN
    assert case.messages.filter(body="One more detail.").exists()


def test_reply_on_resolved_case_counts_as_objection_and_reopens_it(signed_in):
    case = CaseFactory(resolved=True)
    client = signed_in(case.requester)

    client.post(action_url(case, "reply"), {"body": "Still broken."})

    case.refresh_from_db()
    assert case.status == Status.OPEN


def test_empty_reply_is_refused_with_the_form_shown_again(signed_in):
    case = CaseFactory(pending_customer=True)
    client = signed_in(case.requester)

    response = client.post(action_url(case, "reply"), {"body": "   "})

    assert response.status_code == 400
    assert b"Please write a reply." in response.content
    case.refresh_from_db()
    assert case.status == Status.PENDING_CUSTOMER
    assert not case.messages.exists()


def test_reply_to_a_case_closed_a_moment_ago_is_refused_and_keeps_the_text(signed_in):
    case = CaseFactory(pending_customer=True)
    client = signed_in(case.requester)
    services.case_close(case=case, actor=case.assignee)  # closed while the customer typed

    response = client.post(action_url(case, "reply"), {"body": "My long answer <b>here</b>"})

    assert response.status_code == 409
    content = response.content.decode()
    assert "This case was closed, so your reply was not sent." in content
    assert "What you wrote is kept below." in content
    # Kept, escaped, inside the Reopen Case form which now offers it.
    assert "My long answer &lt;b&gt;here&lt;/b&gt;</textarea>" in content
    assert "Reopen Case" in content
    assert not case.messages.exists()
    case.refresh_from_db()
    assert case.status == Status.CLOSED


# --- Approve / Decline --------------------------------------------------------------------


@pytest.fixture
def approval_case():
    return CaseFactory(
        pending_customer=True,
        info_request_kind=InfoRequestKind.APPROVAL,
        return_status=Status.OPEN,
    )


def test_approval_buttons_are_shown_only_when_the_engineer_asked_for_approval(
    signed_in, approval_case
):
    client = signed_in(approval_case.requester)
    content = client.get(approval_case.get_absolute_url()).content.decode()
    assert ">Approve</button>" in content and ">Decline</button>" in content

    logs_case = CaseFactory(pending_customer=True, requester=approval_case.requester)
    content = client.get(logs_case.get_absolute_url()).content.decode()
    assert ">Approve</button>" not in content


@pytest.mark.parametrize(
    ("decision", "recorded"),
    [("approve", "Approved: go ahead"), ("decline", "Declined: please do not")],
)
def test_answering_approval_is_recorded_as_the_customers_reply(
    signed_in, approval_case, decision, recorded
):
    client = signed_in(approval_case.requester)

    response = client.post(
        action_url(approval_case, "approval"), {"decision": decision, "comment": "Fine by me."}
    )

    assert response.status_code == 302
    approval_case.refresh_from_db()
    assert approval_case.status == Status.OPEN
    reply = approval_case.messages.get()
    assert reply.body.startswith(recorded) and "Fine by me." in reply.body
    assert reply.author_kind == Actor.CUSTOMER


def test_approval_with_an_unknown_decision_is_refused(signed_in, approval_case):
    client = signed_in(approval_case.requester)

    response = client.post(action_url(approval_case, "approval"), {"decision": "maybe"})

    assert response.status_code == 400
    approval_case.refresh_from_db()
    assert approval_case.status == Status.PENDING_CUSTOMER


def test_approval_no_longer_waiting_is_refused_and_keeps_the_comment(signed_in, approval_case):
    client = signed_in(approval_case.requester)
    services.case_reply(
        case=approval_case, author=approval_case.requester, body="Answered by mail"
    )

    response = client.post(
        action_url(approval_case, "approval"),
        {"decision": "approve", "comment": "Please go ahead tonight."},
    )

    assert response.status_code == 409
    content = response.content.decode()
    assert "There is no approval waiting for your answer" in content
    assert "Please go ahead tonight.</textarea>" in content
    assert approval_case.messages.count() == 1


# --- Mark as resolved -----------------------------------------------------------------


@pytest.mark.parametrize("status", ["new", "open", "in_progress", "pending_customer"])
def test_mark_as_resolved_from_each_open_status(signed_in, status):
    case = CaseFactory(**({status: True} if status != "new" else {}))
    client = signed_in(case.requester)

    response = client.post(action_url(case, "mark_resolved"), follow=True)

    case.refresh_from_db()
    assert case.status == Status.RESOLVED
    assert case.resolved_at is not None
    assert b"is marked as resolved" in response.content
    event = case.events.get()
    assert event.actor == case.requester and event.actor_kind == Actor.CUSTOMER


def test_mark_as_resolved_from_my_cases_returns_to_the_same_filtered_list(signed_in):
    case = CaseFactory(open=True)
    client = signed_in(case.requester)

    response = client.post(
        action_url(case, "mark_resolved"), {"next": "/cases/?status=open&q=subject"}
    )

    assert response["Location"] == "/cases/?status=open&q=subject"


@pytest.mark.parametrize(
    "next_url", ["https://evil.example/", "//evil.example/cases/", "javascript:alert(1)"]
)
def test_mark_as_resolved_never_redirects_off_site(signed_in, next_url):
    case = CaseFactory(open=True)
    client = signed_in(case.requester)

    response = client.post(action_url(case, "mark_resolved"), {"next": next_url})

    assert response["Location"] == case.get_absolute_url()


@pytest.mark.parametrize("status", ["resolved", "closed"])
def test_mark_as_resolved_is_refused_on_resolved_and_closed_cases(signed_in, status):
    case = CaseFactory(**{status: True})
    client = signed_in(case.requester)

    response = client.post(action_url(case, "mark_resolved"), follow=True)

    assert "this action is not available" in response.content.decode()
    case.refresh_from_db()
    assert case.status == status
    assert not case.events.exists()


# --- Close case -----------------------------------------------------------------------


def test_close_case_needs_the_confirmation(signed_in):
    case = CaseFactory(open=True)
    client = signed_in(case.requester)

    response = client.post(action_url(case, "close"), {}, follow=True)

    assert b"Tick the box to confirm" in response.content
    case.refresh_from_db()
    assert case.status == Status.OPEN


@pytest.mark.parametrize("status", ["new", "open", "in_progress", "pending_customer", "resolved"])
def test_close_case_with_confirmation_closes_it_at_once(signed_in, status):
    case = CaseFactory(**({status: True} if status != "new" else {}))
    client = signed_in(case.requester)

    response = client.post(action_url(case, "close"), {"confirm": "on"}, follow=True)

    case.refresh_from_db()
    assert case.status == Status.CLOSED
    assert case.closed_at is not None
    assert b"is closed. You can reopen it" in response.content
    assert b'data-case-status="closed"' in response.content


def test_close_case_already_closed_is_refused(signed_in):
    case = CaseFactory(closed=True)
    client = signed_in(case.requester)

    response = client.post(action_url(case, "close"), {"confirm": "on"}, follow=True)

    assert b"This case is Closed now" in response.content
    assert not CaseEvent.objects.filter(case=case).exists()


# --- Reopen Case ----------------------------------------------------------------------


@pytest.mark.parametrize("status", ["resolved", "closed"])
def test_reopen_goes_back_to_the_original_engineer(signed_in, status):
    original = EngineerFactory(full_name="Ada Engineer")
    case = CaseFactory(**{status: True}, engineer=original)
    client = signed_in(case.requester)

    response = client.post(action_url(case, "reopen"), {"message": "It is back."}, follow=True)

    case.refresh_from_db()
    assert case.status == Status.OPEN
    assert case.assignee == original
    assert b"back with Ada Engineer" in response.content
    assert case.messages.filter(body="It is back.").exists()


def test_reopen_without_an_active_original_engineer_goes_to_new(signed_in):
    original = EngineerFactory()
    case = CaseFactory(closed=True, engineer=original)
    original.is_active = False
    original.save()
    client = signed_in(case.requester)

    response = client.post(action_url(case, "reopen"), {}, follow=True)

    case.refresh_from_db()
    assert case.status == Status.NEW
    assert case.assignee is None
    assert b"waiting for an engineer" in response.content


def test_reopen_of_a_case_reopened_a_moment_ago_is_refused_and_keeps_the_text(signed_in):
    case = CaseFactory(closed=True)
    client = signed_in(case.requester)
    services.case_reopen(case=case, actor=case.assignee)

    response = client.post(action_url(case, "reopen"), {"message": "Same error again"})

    assert response.status_code == 409
    content = response.content.decode()
    assert "Only resolved or closed cases can be reopened." in content
    # Now open: the text waits in the reply box.
    assert "Same error again</textarea>" in content
    assert not Message.objects.filter(body="Same error again").exists()


# --- Security -------------------------------------------------------------------------


@pytest.mark.parametrize("action", ACTIONS)
def test_actions_refuse_get_and_change_nothing(signed_in, action):
    case = CaseFactory(pending_customer=True, info_request_kind=InfoRequestKind.APPROVAL)
    client = signed_in(case.requester)

    response = client.get(action_url(case, action), VALID_POST[action])

    assert response.status_code == 405
    case.refresh_from_db()
    assert case.status == Status.PENDING_CUSTOMER
    assert not case.messages.exists() and not case.events.exists()


@pytest.mark.parametrize("action", ACTIONS)
def test_actions_enforce_csrf(action):
    case = CaseFactory(pending_customer=True, info_request_kind=InfoRequestKind.APPROVAL)
    client = Client(enforce_csrf_checks=True)
    client.force_login(case.requester)

    response = client.post(action_url(case, action), VALID_POST[action])

    assert response.status_code == 403
    assert b"This form has expired" in response.content
    case.refresh_from_db()
    assert case.status == Status.PENDING_CUSTOMER
    assert not case.messages.exists()


def test_actions_accept_a_post_with_the_csrf_token_from_the_page():
    case = CaseFactory(pending_customer=True)
    client = Client(enforce_csrf_checks=True)
    client.force_login(case.requester)
    client.get(case.get_absolute_url())
    token = client.cookies["csrftoken"].value

    response = client.post(action_url(case, "reply"), {"body": "ok", "csrfmiddlewaretoken": token})

    assert response.status_code == 302


def _case_of_another_customer_same_organisation():
    case = CaseFactory(resolved=True, info_request_kind=InfoRequestKind.APPROVAL)
    return case, customer(case.organisation)


def _case_of_another_organisation():
    case = CaseFactory(resolved=True)
    return case, customer()


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize(
    "intruder", [_case_of_another_customer_same_organisation, _case_of_another_organisation]
)
def test_actions_on_someone_elses_case_answer_404_and_change_nothing(client, action, intruder):
    case, other = intruder()
    client.force_login(other)

    response = client.post(action_url(case, action), VALID_POST[action])

    assert response.status_code == 404
    case.refresh_from_db()
    assert case.status == Status.RESOLVED
    assert not case.messages.exists() and not case.events.exists()


@pytest.mark.parametrize("action", ACTIONS)
def test_actions_by_anonymous_visitors_redirect_to_sign_in(client, action):
    case = CaseFactory(resolved=True)

    response = client.post(action_url(case, action), VALID_POST[action])

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")
    case.refresh_from_db()
    assert case.status == Status.RESOLVED


def test_colleague_allowed_to_see_organisation_cases_can_act_on_them(client):
    case = CaseFactory(open=True)
    colleague = customer(case.organisation, sees_organisation=True)
    client.force_login(colleague)

    client.post(action_url(case, "mark_resolved"))

    case.refresh_from_db()
    assert case.status == Status.RESOLVED
