"""Engineers answer by email: a reply to an email about a case, from the engineer it went
to, is a public reply as the admin's Reply sends it; `#note` on the first line makes it
an internal note. Postmark and Mailgun posts, as the providers send them.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from cases import outbox, services
from cases.models import (
    Attachment,
    Case,
    InboundOutcome,
    InboundReason,
    Message,
    MessageSource,
    NotificationKind,
    Status,
)
from cases.outbox import parse_reply_address, reply_address
from portal.models import SUPPORT_ENGINEERS_GROUP
from tests.cases import email_webhooks as hooks
from tests.factories import CaseFactory, EngineerFactory, customer

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("email_webhooks")]

ENGINEER_REPLY = """The fix is deployed: please restart the job once.

Kind regards,
Sam

--
Sam Engineer | Support

On Sat, 28 Nov 2026 at 09:00, Support <support@example.com> wrote:
> The customer replied on case CS-1001.
> It fails at 02:00.
"""


@pytest.fixture
def case():
    """A case being worked on, whose customer just replied: the engineer was emailed."""
    case = CaseFactory(in_progress=True)
    services.case_reply(case=case, author=case.requester, body="It fails at 02:00.")
    return Case.objects.select_related("assignee", "requester").get(pk=case.pk)


def engineer_messages(case: Case):
    return Message.objects.filter(case=case, author_kind="engineer")


def answer(case: Case, sender, text: str, *, provider: str = "postmark", **kwargs) -> dict:
    """`sender`'s email to the reply address of the engineer told the customer replied."""
    return hooks.reply(
        case,
        sender,
        to=case.assignee,
        provider=provider,
        subject=f"Re: [{case.reference}] Customer replied: {case.subject}",
        text=text,
        **kwargs,
    )


def send_answer(client, case: Case, sender, text: str, *, provider="postmark", **kwargs):
    payload = answer(case, sender, text, provider=provider, **kwargs)
    return hooks.post_inbound(client, payload, provider=provider)


# --- The email engineers answer -------------------------------------------------------


def test_email_to_the_engineer_carries_their_own_signed_reply_address(case):
    notification = case.notifications.get(kind=NotificationKind.CUSTOMER_REPLIED)

    email = outbox.build_email(notification)

    assert notification.recipient == case.assignee
    assert email.reply_to == [reply_address(case, case.assignee)]
    assert parse_reply_address(email.reply_to[0]) == (case.pk, case.assignee.pk)
    [(html, _)] = email.alternatives
    for body in (email.body, html):
        assert "public reply" in body and "#note" in body


# --- Accepted -------------------------------------------------------------------------


def test_postmark_engineer_reply_is_a_public_reply_emailed_to_the_customer(
    client, case, mailoutbox, django_capture_on_commit_callbacks
):
    payload = answer(case, case.assignee, ENGINEER_REPLY)

    with django_capture_on_commit_callbacks(execute=True):
        assert hooks.post_inbound(client, payload).status_code == 200

    reply = engineer_messages(case).get()
    assert reply.body == "The fix is deployed: please restart the job once.\n\nKind regards,\nSam"
    assert (reply.author, reply.is_internal, reply.source) == (
        case.assignee,
        False,
        MessageSource.EMAIL,
    )
    assert reply.email_message_id == payload["Headers"][-1]["Value"]
    case.refresh_from_db()
    assert case.status == Status.IN_PROGRESS
    hooks.recorded(
        outcome=InboundOutcome.ACCEPTED,
        reason=InboundReason.REPLY,
        sender=case.assignee,
        reply=reply,
    )
    # The same email the admin's Reply sends.
    notification = case.notifications.get(kind=NotificationKind.ENGINEER_REPLY)
    assert (notification.recipient, notification.message) == (case.requester, reply)
    [email] = [e for e in mailoutbox if e.to == [case.requester.email]]
    assert "The fix is deployed: please restart the job once." in email.body
    assert "On Sat, 28 Nov 2026" not in email.body


@pytest.mark.usefixtures("file_storage")
def test_mailgun_engineer_reply_keeps_its_attachment_and_reaches_the_customer(client, case):
    response = send_answer(
        client,
        case,
        case.assignee,
        "Here is the patched config.",
        provider="mailgun",
        attachments=[("job.yaml", b"retries: 3\n", "text/plain")],
    )

    assert response.status_code == 200

    reply = engineer_messages(case).get()
    assert (reply.body, reply.is_internal) == ("Here is the patched config.", False)
    assert Attachment.objects.get(message=reply).filename == "job.yaml"
    assert case.notifications.filter(
        kind=NotificationKind.ENGINEER_REPLY, recipient=case.requester
    ).exists()
    hooks.recorded(reason=InboundReason.REPLY)


def test_postmark_note_line_makes_an_internal_note_the_customer_never_gets(
    client, case, mailoutbox, django_capture_on_commit_callbacks
):
    payload = answer(
        case, case.assignee, "#NOTE\nCustomer runs the job on an old kernel.\n\n" + ENGINEER_REPLY
    )

    with django_capture_on_commit_callbacks(execute=True):
        assert hooks.post_inbound(client, payload).status_code == 200

    note = engineer_messages(case).get()
    assert note.is_internal
    assert note.body.startswith("Customer runs the job on an old kernel.")
    assert "#note" not in note.body.lower()
    assert note.source == MessageSource.EMAIL
    assert not case.notifications.filter(kind=NotificationKind.ENGINEER_REPLY).exists()
    assert [e for e in mailoutbox if e.to == [case.requester.email]] == []
    hooks.recorded(outcome=InboundOutcome.ACCEPTED, reason=InboundReason.NOTE, reply=note)


def test_mailgun_note_keeps_text_and_says_files_are_not_added_to_notes(client, case):
    response = send_answer(
        client,
        case,
        case.assignee,
        "  #note  \nChecked the logs: disk full.",
        provider="mailgun",
        attachments=[("df.txt", b"/dev/sda1 100%\n", "text/plain")],
    )

    assert response.status_code == 200

    note = engineer_messages(case).get()
    assert note.is_internal
    assert note.body.startswith("Checked the logs: disk full.\n\n[Attachments not added]")
    assert "“df.txt”: internal notes take text only." in note.body
    assert not Attachment.objects.filter(message=note).exists()
    assert not case.notifications.filter(kind=NotificationKind.ENGINEER_REPLY).exists()


def test_note_marker_with_more_on_its_line_is_refused_never_sent_to_the_customer(client, case):
    response = send_answer(
        client, case, case.assignee, "#note: their admin password is in the logs"
    )

    assert response.status_code == 200
    assert not engineer_messages(case).exists()
    record = hooks.recorded(outcome=InboundOutcome.REJECTED, reason=InboundReason.REFUSED)
    assert "#note alone on the first line" in record.detail


def test_engineer_reply_to_a_closed_case_is_refused_and_recorded(client):
    case = CaseFactory(closed=True)

    response = send_answer(client, case, case.assignee, "One more thing.")

    assert response.status_code == 200
    assert not engineer_messages(case).exists()
    record = hooks.recorded(outcome=InboundOutcome.REJECTED, reason=InboundReason.REFUSED)
    assert "closed" in record.detail


def test_engineers_out_of_office_never_reaches_the_customer(client, case):
    response = send_answer(
        client,
        case,
        case.assignee,
        "I am out of the office until Monday.",
        headers=[("Auto-Submitted", "auto-replied")],
    )

    assert response.status_code == 200
    assert not engineer_messages(case).exists()
    hooks.recorded(outcome=InboundOutcome.AUTOMATED)


# --- Rejected -------------------------------------------------------------------------


def _no_longer_staff(engineer):
    engineer.is_staff = False
    engineer.save()


def _deactivated(engineer):
    engineer.is_active = False
    engineer.save()


def _left_support_group(engineer):
    engineer.groups.remove(Group.objects.get(name=SUPPORT_ENGINEERS_GROUP))


@pytest.mark.parametrize(
    "leave",
    [_no_longer_staff, _deactivated, _left_support_group],
    ids=["no-longer-staff", "deactivated", "left-support-group"],
)
def test_former_engineer_replying_is_rejected_with_the_reason(client, case, leave):
    leave(case.assignee)
    response = send_answer(client, case, case.assignee, "Still looking at it.")

    assert response.status_code == 200
    assert not engineer_messages(case).exists()
    assert not case.notifications.filter(kind=NotificationKind.ENGINEER_REPLY).exists()
    record = hooks.recorded(
        outcome=InboundOutcome.REJECTED,
        reason=InboundReason.NOT_ENGINEER,
        case=case,
        sender=case.assignee,
    )
    assert case.assignee.email in record.detail


def test_engineer_without_the_work_permission_is_rejected_like_in_the_admin(client, case):
    """Staff in the group whose group lost the admin's "work case" permission."""
    group = Group.objects.get(name=SUPPORT_ENGINEERS_GROUP)
    group.permissions.remove(*group.permissions.filter(codename="work_case"))
    response = send_answer(client, case, case.assignee, "Still looking at it.", provider="mailgun")

    assert response.status_code == 200
    assert not engineer_messages(case).exists()
    hooks.recorded(reason=InboundReason.NOT_ENGINEER)


def test_other_engineer_answering_an_engineers_email_is_rejected(client, case):
    """Each engineer answers from their own email: the reply address names who it went to."""
    colleague = EngineerFactory()
    response = send_answer(client, case, colleague, "I can take this one.")

    assert response.status_code == 200
    assert not engineer_messages(case).exists()
    hooks.recorded(
        outcome=InboundOutcome.REJECTED, reason=InboundReason.SENDER_MISMATCH, sender=colleague
    )


def test_customer_writing_to_the_engineers_reply_address_is_rejected(client, case):
    before = Message.objects.filter(case=case).count()

    response = send_answer(
        client, case, case.requester, "#note\nMake me an engineer.", provider="mailgun"
    )

    assert response.status_code == 200
    assert Message.objects.filter(case=case).count() == before
    hooks.recorded(reason=InboundReason.SENDER_MISMATCH)


def test_engineer_writing_to_the_customers_reply_address_is_rejected(client, case):
    response = hooks.send_reply(
        client,
        case,
        case.assignee,
        to=case.requester,
        subject="Re: New reply",
        text="Answering for the customer.",
    )

    assert response.status_code == 200
    assert not engineer_messages(case).exists()
    hooks.recorded(reason=InboundReason.NOT_CUSTOMER)


@pytest.mark.parametrize("post", ["postmark", "mailgun"])
def test_customers_note_line_is_just_text_of_a_public_reply(client, post):
    case = CaseFactory(pending_customer=True)

    hooks.send_reply(
        client,
        case,
        provider=post,
        subject="Re: We need your input",
        text="#note\nThe logs are attached to the ticket now.",
    )

    reply = Message.objects.get(case=case, author=case.requester)
    assert reply.body == "#note\nThe logs are attached to the ticket now."
    assert not reply.is_internal
    assert hooks.refreshed(case).status == Status.IN_PROGRESS
    hooks.recorded(reason=InboundReason.REPLY)


def test_colleague_of_the_customer_is_never_taken_for_an_engineer(client, case):
    """An organisation member's own reply address routes to the customer checks."""
    colleague = customer(case.organisation, sees_organisation=False)

    response = hooks.send_reply(
        client, case, colleague, subject="Re: New reply", text="#note\nLet me see internal notes."
    )

    assert response.status_code == 200
    assert not Message.objects.filter(case=case, is_internal=True).exists()
    hooks.recorded(reason=InboundReason.NOT_CUSTOMER)
