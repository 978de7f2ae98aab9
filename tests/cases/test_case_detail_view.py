"""One case: status with its meaning, the public thread, attachments, history and actions."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from cases import services
from cases.models import STATUS_INFO, InfoRequestKind, Status
from tests.factories import CaseFactory, EngineerFactory, MessageFactory, customer

pytestmark = pytest.mark.django_db

TRAITS = {
    "new": {},
    "open": {"open": True},
    "in_progress": {"in_progress": True},
    "pending_customer": {"pending_customer": True},
    "resolved": {"resolved": True},
    "closed": {"closed": True},
}


def page_of(client, case) -> str:
    client.force_login(case.requester)
    response = client.get(case.get_absolute_url())
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.parametrize("status", Status.values)
def test_status_badge_meaning_and_action_come_from_the_status_definitions(client, status):
    case = CaseFactory(**TRAITS[status])

    content = page_of(client, case)

    info = STATUS_INFO[status]
    assert f'data-case-status="{status}">{info.label}</span>' in content
    assert f"{info.meaning}." in content
    assert f"<strong>Action required?</strong> {info.action}." in content


@pytest.mark.parametrize(
    ("status", "offered", "not_offered"),
    [
        ("new", ["Reply", "Mark as resolved", "Close case"], ["Reopen Case"]),
        ("open", ["Reply", "Mark as resolved", "Close case"], ["Reopen Case"]),
        ("in_progress", ["Reply", "Mark as resolved", "Close case"], ["Reopen Case"]),
        ("pending_customer", ["Reply", "Mark as resolved", "Close case"], ["Reopen Case"]),
        ("resolved", ["Reply", "Close case", "Reopen Case"], ["Mark as resolved"]),
        ("closed", ["Reopen Case"], ["Reply", "Mark as resolved", "Close case"]),
    ],
)
def test_only_the_actions_allowed_now_are_offered(client, status, offered, not_offered):
    content = page_of(client, CaseFactory(**TRAITS[status]))

    buttons = re.findall(r"<button[^>]*>([^<]+)</button>", content)
    buttons = [b.strip() for b in buttons if b.strip() != "Sign out"]
    for word in offered:
        assert word in buttons
    for word in not_offered:
        assert word not in buttons
    assert "Approve" not in buttons


def test_close_case_asks_for_confirmation(client):
    content = page_of(client, CaseFactory(open=True))

    assert '<details class="confirm">' in content
    assert 'name="confirm"' in content and "Yes, close this case." in content


def test_pending_customer_makes_replying_the_next_step(client):
    engineer = EngineerFactory(full_name="Grace Engineer")
    case = CaseFactory(
        pending_customer=True, engineer=engineer, info_request_kind=InfoRequestKind.STEPS
    )

    content = page_of(client, case)

    assert "Reply to unblock this case" in content
    assert "Grace Engineer needs: <strong>Steps to reproduce the issue</strong>" in content
    # The reply form comes before the thread.
    assert content.index('id="reply-heading"') < content.index('id="thread-heading"')


@pytest.mark.parametrize(
    ("trait", "clock_field", "days_setting", "sentence"),
    [
        (
            "pending_customer",
            "pending_since",
            "CASE_PENDING_CUSTOMER_AUTO_CLOSE_DAYS",
            "If we do not hear from you",
        ),
        ("resolved", "resolved_at", "CASE_RESOLVED_AUTO_CLOSE_DAYS", "Unless you reopen it"),
    ],
)
def test_running_clock_shows_the_automatic_close_date(
    client, settings, trait, clock_field, days_setting, sentence
):
    setattr(settings, days_setting, 10)
    started = timezone.datetime(2026, 5, 1, 8, 30, tzinfo=timezone.UTC)
    case = CaseFactory(**{trait: True, clock_field: started})

    content = page_of(client, case)

    assert f"{sentence}, this case closes automatically on" in content
    expected = '<time datetime="2026-05-11T08:30:00.000+00:00">11 May 2026, 08:30 UTC</time>'
    assert expected in content


@pytest.mark.parametrize("status", ["new", "open", "in_progress", "closed"])
def test_no_close_date_without_a_running_clock(client, status):
    assert "closes automatically" not in page_of(client, CaseFactory(**TRAITS[status]))


def test_thread_shows_public_messages_and_never_internal_notes(client):
    case = CaseFactory(open=True)
    services.case_reply(case=case, author=case.requester, body="Customer says hello")
    services.case_reply(case=case, author=case.assignee, body="Engineer answers")
    services.case_add_internal_note(case=case, engineer=case.assignee, body="SECRET internal note")

    content = page_of(client, case)

    assert "Customer says hello" in content
    assert "Engineer answers" in content
    assert "SECRET internal note" not in content


def test_history_lists_every_status_change_with_who_did_it(client):
    case = services.case_open(requester=customer(), subject="History", description="d", priority=3)
    engineer = EngineerFactory(full_name="Alan Engineer")
    services.case_assign(case=case, engineer=engineer)
    services.case_request_info(case=case, engineer=engineer, message="Logs?", kind="logs")

    content = page_of(client, case)
    history = content[content.index('id="history-heading"') :]

    assert "Case opened" in history
    assert "New → Open" in history and "(Alan Engineer" in history
    assert "Open → Pending Customer" in history


def test_message_text_is_escaped(client):
    case = CaseFactory(open=True, subject="<img src=x onerror=alert(1)>")
    MessageFactory(case=case, body="<script>alert('owned')</script>")

    content = page_of(client, case)

    assert "<script>alert" not in content
    assert "<img src=x" not in content
    assert "&lt;script&gt;alert(&#x27;owned&#x27;)&lt;/script&gt;" in content


def test_attachments_are_listed_with_a_download_link(client):
    case = CaseFactory(open=True)
    message = services.case_reply(
        case=case,
        author=case.requester,
        body="See log",
        attachments=[_text_upload("server.log")],
    )
    attachment = message.attachments.get()

    content = page_of(client, case)

    assert f'href="/cases/{case.reference}/attachments/{attachment.pk}/"' in content
    assert ">server.log</a>" in content


def _text_upload(name: str):
    upload = SimpleUploadedFile(name, b"line one\nline two\n", content_type="text/plain")
    upload.verified_content_type = "text/plain"
    return upload


def test_unknown_reference_answers_a_friendly_404(client, customer):
    client.force_login(customer)

    for reference in ("CS-999999", "nonsense", "CS-0"):
        response = client.get(f"/cases/{reference}/")
        assert response.status_code == 404
        assert b"find that page" in response.content


def test_another_customers_case_answers_404(client):
    case = CaseFactory(open=True)
    for intruder in (customer(case.organisation), customer()):
        client.force_login(intruder)
        response = client.get(case.get_absolute_url())
        assert response.status_code == 404
        assert case.subject.encode() not in response.content


def test_colleague_allowed_to_see_the_organisation_sees_the_case(client):
    case = CaseFactory(open=True)
    client.force_login(customer(case.organisation, sees_organisation=True))

    assert client.get(case.get_absolute_url()).status_code == 200


def test_anonymous_visitor_is_sent_to_sign_in(client):
    case = CaseFactory(open=True)

    response = client.get(case.get_absolute_url())

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


def test_query_count_does_not_grow_with_messages(client, django_assert_max_num_queries):
    case = CaseFactory(in_progress=True)
    for n in range(15):
        services.case_reply(
            case=case,
            author=case.requester,
            body=f"Customer {n}",
            attachments=[_text_upload(f"{n}.log")],
        )
        services.case_reply(case=case, author=case.assignee, body=f"Engineer {n}")
        services.case_add_internal_note(case=case, engineer=case.assignee, body=f"Note {n}")
    services.case_request_info(case=case, engineer=case.assignee, message="More?", kind="logs")
    client.force_login(case.requester)

    # Session, user, membership, case, thread, attachments, history: never per message.
    with django_assert_max_num_queries(9):
        response = client.get(case.get_absolute_url())
    assert response.content.decode().count('class="thread-message') == 31


def test_engineers_question_is_quoted_where_the_customer_answers_it(client):
    case = CaseFactory(in_progress=True)
    services.case_request_info(
        case=case,
        engineer=case.assignee,
        message="Please attach kubelet.log from node-3.",
        kind=InfoRequestKind.LOGS,
    )

    content = page_of(client, case)

    reply_panel = content[
        content.index('id="reply-heading"') : content.index('id="thread-heading"')
    ]
    assert "data-question" in reply_panel
    assert "Please attach kubelet.log from node-3." in reply_panel


def test_approval_panel_says_what_change_is_to_be_approved(client):
    case = CaseFactory(in_progress=True)
    services.case_request_info(
        case=case,
        engineer=case.assignee,
        message="May I raise your API limit to 200 req/s?",
        kind=InfoRequestKind.APPROVAL,
    )

    content = page_of(client, case)

    approval_panel = content[
        content.index('id="approval-heading"') : content.index('id="reply-heading"')
    ]
    assert "May I raise your API limit to 200 req/s?" in approval_panel
    # One call to action: the reply box is offered for questions, not as a second alarm.
    assert "Reply to unblock this case" not in content
    assert "Questions before you decide?" in content


def test_no_question_is_quoted_once_the_customer_has_answered(client):
    case = CaseFactory(in_progress=True)
    services.case_request_info(
        case=case,
        engineer=case.assignee,
        message="Which version?",
        kind=InfoRequestKind.CONFIGURATION,
    )
    services.case_reply(case=case, author=case.requester, body="Version 1.31.")

    assert "data-question" not in page_of(client, case)


def test_colleagues_case_names_who_opened_it(client):
    opener = customer(full_name="Cole Colleague")
    case = CaseFactory(requester=opener)
    me = customer(case.organisation, sees_organisation=True)
    client.force_login(me)

    content = client.get(case.get_absolute_url()).content.decode()

    assert "</time> by Cole Colleague</dd>" in content
    assert " by Cole Colleague" not in page_of(client, case)


def test_closed_case_shows_when_it_was_closed(client):
    closed_at = timezone.datetime(2026, 4, 2, 10, 15, tzinfo=timezone.UTC)
    case = CaseFactory(closed=True, closed_at=closed_at)

    content = page_of(client, case)

    assert (
        '<dt>Closed</dt><dd><time datetime="2026-04-02T10:15:00.000+00:00">'
        "2 Apr 2026, 10:15 UTC</time>" in content
    )


def test_thread_shows_every_new_public_message_at_once(client):
    """A reply or question added since the last visit is there on the next; a note never."""
    case = CaseFactory(in_progress=True)
    client.force_login(case.requester)
    client.get(case.get_absolute_url())

    services.case_reply(case=case, author=case.assignee, body="Which region is affected?")
    services.case_add_internal_note(case=case, engineer=case.assignee, body="Secret hunch")
    page = client.get(case.get_absolute_url()).content.decode()
    assert "Which region is affected?" in page
    assert "Secret hunch" not in page

    services.case_request_info(
        case=case, engineer=case.assignee, message="Please send the logs.", kind="logs"
    )
    page = client.get(case.get_absolute_url()).content.decode()
    assert "Please send the logs." in page


def test_held_case_promises_no_automatic_close_date(client):
    """A Pending Customer case whose question bounced will not close by itself."""
    case = CaseFactory(pending_customer=True)
    services.case_hold_auto_close(case=case, reason="The question email bounced")
    client.force_login(case.requester)

    detail = client.get(case.get_absolute_url()).content.decode()
    listing = client.get("/cases/").content.decode()

    assert "closes automatically on" not in detail
    assert "Closes automatically on" not in listing
