"""A reply by email to a Resolved case that only says thanks keeps it resolved.

Any other reply is an objection and reopens the case, as the help page says. Postmark
and Mailgun posts, as the providers send them.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from cases import outbox, services
from cases.models import (
    Case,
    InboundOutcome,
    InboundReason,
    Message,
    MessageSource,
    Notification,
    NotificationKind,
    NotificationState,
    Status,
)
from cases.outbox import reply_address
from tests.cases import email_webhooks as hooks
from tests.factories import CaseFactory, customer

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("email_webhooks")]

RESOLVED_AT = datetime(2026, 11, 27, 16, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 28, 9, 15, tzinfo=UTC)

THANKS_WITH_HISTORY = """Thanks, that fixed it!

Alex

On Fri, 27 Nov 2026 at 16:00, Support <support@example.com> wrote:
> Your engineer has marked case CS-1001 as resolved.
"""


@pytest.fixture
def resolved(time_machine):
    time_machine.move_to(NOW, tick=False)
    requester = customer(full_name="Alex Doe")
    case = CaseFactory(resolved=True, resolved_at=RESOLVED_AT, requester=requester)
    return Case.objects.select_related("requester", "assignee").get(pk=case.pk)


def answer(client, case: Case, text: str, **kwargs):
    """The requester answers the email saying their case was resolved."""
    return hooks.send_reply(
        client,
        case,
        subject=f"Re: [{case.reference}] Resolved: {case.subject}",
        text=text,
        **kwargs,
    )


def test_postmark_thank_you_is_added_and_the_case_stays_resolved(
    client, resolved, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = answer(client, resolved, THANKS_WITH_HISTORY)

    assert response.status_code == 200
    resolved.refresh_from_db()
    assert (resolved.status, resolved.resolved_at) == (Status.RESOLVED, RESOLVED_AT)
    message = Message.objects.get(case=resolved, author=resolved.requester)
    assert (message.body, message.source) == (
        "Thanks, that fixed it!\n\nAlex",
        MessageSource.EMAIL,
    )
    record = hooks.recorded(
        outcome=InboundOutcome.ACCEPTED, reason=InboundReason.THANKS, reply=message
    )
    assert record.get_reason_display() == "Thank-you added; case stays resolved"
    event = resolved.events.get()
    assert (event.transition, event.from_status, event.to_status, event.actor) == (
        "thanks",
        Status.RESOLVED,
        Status.RESOLVED,
        resolved.requester,
    )
    # The customer is told the case stays resolved, when it closes, and what to do.
    [email] = [e for e in mailoutbox if e.to == [resolved.requester.email]]
    assert email.subject == (
        f"[{resolved.reference}] Thanks received, case stays resolved: {resolved.subject}"
    )
    [(html, _)] = email.alternatives
    for body in (email.body, re.sub(r"<[^>]+>", "", html)):
        assert "stays Resolved" in body
        assert "closes automatically on" in body and "4 December 2026" in body
        assert "confirm that it worked" in body and "reopen the case" in body
        assert "Thanks, that fixed it!" in body
    assert resolved.get_absolute_url() in html and resolved.get_absolute_url() in email.body
    assert email.reply_to == [reply_address(resolved, resolved.requester)]
    # The engineer sees the thanks too.
    assert [e for e in mailoutbox if e.to == [resolved.assignee.email]]


def test_mailgun_thank_you_in_german_keeps_the_case_resolved(client, resolved):
    response = answer(
        client,
        resolved,
        "Vielen Dank, es funktioniert wieder!\n\nViele Grüße\nAlex Doe",
        provider="mailgun",
    )

    assert response.status_code == 200
    assert hooks.refreshed(resolved).status == Status.RESOLVED
    hooks.recorded(reason=InboundReason.THANKS)
    assert resolved.notifications.filter(
        kind=NotificationKind.THANKS_RECEIVED, recipient=resolved.requester
    ).exists()


def test_a_thanked_case_still_closes_on_its_date(client, resolved, time_machine):
    answer(client, resolved, "Thank you!")

    time_machine.move_to(RESOLVED_AT + timedelta(days=7) - timedelta(seconds=1), tick=False)
    assert services.close_stale_cases() == []
    time_machine.move_to(RESOLVED_AT + timedelta(days=7), tick=False)
    assert [case.pk for case in services.close_stale_cases()] == [resolved.pk]


@pytest.mark.parametrize(
    "text",
    [
        "Thanks, but it still fails after the restart.",
        "Thanks?",
        "Thank you! " * 20,
        "Thanks for the fix. Could you also look at the staging cluster",
    ],
    ids=["thanks-but", "question", "long", "more-than-thanks"],
)
def test_anything_more_than_thanks_reopens_the_case(client, resolved, text):
    assert answer(client, resolved, text).status_code == 200

    assert hooks.refreshed(resolved).status == Status.OPEN
    hooks.recorded(outcome=InboundOutcome.ACCEPTED, reason=InboundReason.REPLY)
    assert not resolved.notifications.filter(kind=NotificationKind.THANKS_RECEIVED).exists()


def test_thanks_with_an_attachment_reopens_the_case(client, resolved):
    response = answer(
        client,
        resolved,
        "Thanks!",
        provider="mailgun",
        attachments=[("after.log", b"all ok\n", "text/plain")],
    )

    assert response.status_code == 200
    assert hooks.refreshed(resolved).status == Status.OPEN
    hooks.recorded(reason=InboundReason.REPLY)


def test_thanks_on_a_pending_case_is_an_ordinary_reply(client):
    case = CaseFactory(pending_customer=True)

    response = hooks.send_reply(client, case, subject="Re: We need your input", text="Thanks!")

    assert response.status_code == 200
    assert hooks.refreshed(case).status == Status.IN_PROGRESS
    hooks.recorded(reason=InboundReason.REPLY)


def test_thanks_reaching_a_case_reopened_meanwhile_is_an_ordinary_reply(resolved):
    """The service decides under the row lock: the case is no longer resolved."""
    services.case_reopen(case=resolved, actor=resolved.requester)

    message = services.case_reply_thanks(
        case=resolved, author=resolved.requester, body="Thanks!", source=MessageSource.EMAIL
    )

    assert message.case.status == Status.OPEN
    assert not Notification.objects.filter(kind=NotificationKind.THANKS_RECEIVED).exists()


def test_stays_resolved_email_is_not_sent_once_the_case_reopened(client, resolved):
    answer(client, resolved, "Thanks!")
    services.case_reopen(case=resolved, actor=resolved.requester)
    notification = Notification.objects.get(kind=NotificationKind.THANKS_RECEIVED)

    outbox.deliver(notification.pk)

    notification.refresh_from_db()
    assert notification.state == NotificationState.CANCELLED


def test_help_page_explains_the_thank_you_rule(client):
    content = client.get("/help/case-statuses/").content.decode()

    assert 'id="replying-to-resolved"' in content
    assert "only says thanks" in content
    assert "reopens it" in content
