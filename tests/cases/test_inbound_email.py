"""Replies by email arrive through Anymail's inbound webhooks (Postmark and Mailgun posts).

Only a reply to our own email, from the person it was sent to, reaches a case; the rest
is recorded for engineers and changes nothing.
"""

from __future__ import annotations

import pytest

from cases.models import (
    Attachment,
    Case,
    CaseEvent,
    InboundEmail,
    InboundOutcome,
    InboundReason,
    Message,
    MessageSource,
    Notification,
    NotificationKind,
    Status,
)
from cases.outbox import message_id_for, reply_address
from tests.cases import email_webhooks as hooks
from tests.factories import CaseFactory, customer

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("email_webhooks")]

QUOTED_REPLY = """Here are the logs you asked for: the job fails at 02:00 every night.

Thanks,
Alex

--
Alex Customer | Example Ltd | +44 20 7946 0000

On Sat, 28 Nov 2026 at 09:00, Support <support@example.com> wrote:
> We need the logs of the failing job.
> Regards, Support
"""


def question_of(case: Case) -> Notification:
    return case.notifications.get(kind=NotificationKind.PENDING_CUSTOMER)


def customer_messages(case: Case):
    return Message.objects.filter(case=case, author_kind="customer").exclude(
        source=MessageSource.WEB
    )


# --- Accepted replies -----------------------------------------------------------------


def test_postmark_reply_lands_in_thread_and_unblocks_pending_case(client, asked_case):
    requester = asked_case.requester
    payload = hooks.postmark_inbound(
        from_email=requester.email,
        to=reply_address(asked_case, requester),
        subject=f"Re: [{asked_case.reference}] We need your input",
        text=QUOTED_REPLY,
    )

    response = hooks.post_postmark_inbound(client, payload)

    assert response.status_code == 200
    asked_case.refresh_from_db()
    assert asked_case.status == Status.IN_PROGRESS
    assert asked_case.pending_since is None
    reply = customer_messages(asked_case).get()
    assert reply.source == MessageSource.EMAIL
    assert reply.author == requester
    assert (
        reply.body
        == "Here are the logs you asked for: the job fails at 02:00 every night.\n\nThanks,\nAlex"
    )
    assert reply.email_message_id == payload["Headers"][-1]["Value"]
    record = InboundEmail.objects.get()
    assert (record.outcome, record.reason, record.case, record.reply) == (
        InboundOutcome.ACCEPTED,
        InboundReason.REPLY,
        asked_case,
        reply,
    )
    event = asked_case.events.order_by("id").last()
    assert (event.transition, event.actor) == ("receive_customer_reply", requester)
    assert asked_case.notifications.filter(kind=NotificationKind.CUSTOMER_REPLIED).exists()


def test_mailgun_reply_keeps_allowed_attachments_and_notes_refused_ones(client, asked_case):
    requester = asked_case.requester
    payload = hooks.mailgun_inbound(
        from_email=requester.email,
        to=reply_address(asked_case, requester),
        subject=f"Re: [{asked_case.reference}] We need your input",
        text="Logs attached.\n\nOn Sat, 28 Nov 2026 at 09:00, Support wrote:\n> Send logs",
        attachments=[
            ("job.log", b"02:00:01 ERROR connection refused\n", "text/plain"),
            ("tool.exe", b"MZ\x90\x00binary", "application/octet-stream"),
        ],
    )

    response = hooks.post_mailgun_inbound(client, payload)

    assert response.status_code == 200
    asked_case.refresh_from_db()
    assert asked_case.status == Status.IN_PROGRESS
    reply = customer_messages(asked_case).get()
    assert reply.body.startswith("Logs attached.\n\n[Attachments not added]")
    assert "tool.exe" in reply.body
    attachment = Attachment.objects.get(message=reply)
    assert (attachment.filename, attachment.content_type) == ("job.log", "text/plain")
    assert attachment.file.read() == b"02:00:01 ERROR connection refused\n"


def test_reply_without_reply_address_is_found_by_in_reply_to(client, asked_case):
    """Some clients reply to From: the headers still name our question email."""
    requester = asked_case.requester
    question = question_of(asked_case)
    payload = hooks.postmark_inbound(
        from_email=requester.email,
        to="support@example.com",
        subject="Re: We need your input",
        text="Done, see the thread.",
        headers=[
            ("In-Reply-To", message_id_for(question)),
            ("References", message_id_for(question)),
        ],
    )

    assert hooks.post_postmark_inbound(client, payload).status_code == 200

    asked_case.refresh_from_db()
    assert asked_case.status == Status.IN_PROGRESS
    assert customer_messages(asked_case).get().body == "Done, see the thread."


def test_reply_to_resolved_case_reopens_it(client):
    case = CaseFactory(resolved=True)
    payload = hooks.postmark_inbound(
        from_email=case.requester.email,
        to=reply_address(case, case.requester),
        subject=f"Re: [{case.reference}] Resolved",
        text="It is still failing, sorry.",
    )

    assert hooks.post_postmark_inbound(client, payload).status_code == 200

    case.refresh_from_db()
    assert case.status == Status.OPEN
    assert case.resolved_at is None


def test_reply_to_closed_case_reopens_it_by_default(client):
    case = CaseFactory(closed=True)
    payload = hooks.postmark_inbound(
        from_email=case.requester.email,
        to=reply_address(case, case.requester),
        subject=f"Re: [{case.reference}] Closed automatically",
        text="The problem is back.",
    )

    assert hooks.post_postmark_inbound(client, payload).status_code == 200

    case.refresh_from_db()
    assert case.status == Status.OPEN
    assert Case.objects.count() == 1


def test_reply_to_closed_case_starts_linked_case_when_configured(client, settings):
    settings.CASE_EMAIL_REPLY_TO_CLOSED = "new_case"
    case = CaseFactory(closed=True)
    payload = hooks.postmark_inbound(
        from_email=case.requester.email,
        to=reply_address(case, case.requester),
        subject=f"Re: [{case.reference}] Closed automatically",
        text="The problem is back.",
    )

    assert hooks.post_postmark_inbound(client, payload).status_code == 200

    case.refresh_from_db()
    assert case.status == Status.CLOSED
    follow_up = Case.objects.get(follow_up_of=case)
    assert follow_up.status == Status.NEW
    assert follow_up.requester == case.requester
    assert case.reference in follow_up.subject
    first = follow_up.messages.get()
    assert (first.body, first.source) == ("The problem is back.", MessageSource.EMAIL)
    assert case.events.filter(transition="follow_up").exists()
    record = InboundEmail.objects.get()
    assert (record.outcome, record.reason, record.reply) == (
        InboundOutcome.ACCEPTED,
        InboundReason.FOLLOW_UP,
        first,
    )


def test_overlong_reply_is_shortened_like_the_web_limit(client, asked_case):
    from cases.inbound.receive import REPLY_MAX_CHARS

    requester = asked_case.requester
    payload = hooks.postmark_inbound(
        from_email=requester.email,
        to=reply_address(asked_case, requester),
        subject="Re: We need your input",
        text="x" * (REPLY_MAX_CHARS + 10),
    )

    assert hooks.post_postmark_inbound(client, payload).status_code == 200

    body = customer_messages(asked_case).get().body
    assert body.startswith("x" * REPLY_MAX_CHARS + "\n\n[Shortened")
    assert "x" * (REPLY_MAX_CHARS + 1) not in body


def test_html_only_reply_is_turned_into_text(client, asked_case):
    requester = asked_case.requester
    payload = hooks.postmark_inbound(
        from_email=requester.email,
        to=reply_address(asked_case, requester),
        subject="Re: We need your input",
        text="",
        html='<div>Logs are in <b>/var/log/job</b>.</div><div class="gmail_quote">'
        "On Sat, Support wrote: <blockquote>Send logs</blockquote></div>",
    )

    assert hooks.post_postmark_inbound(client, payload).status_code == 200

    assert customer_messages(asked_case).get().body == "Logs are in /var/log/job."


# --- Rejected -------------------------------------------------------------------------


def test_reply_from_stranger_is_recorded_and_never_attached(client, asked_case):
    stranger = customer()
    payload = hooks.postmark_inbound(
        from_email=stranger.email,
        to=reply_address(asked_case, asked_case.requester),
        subject=f"Re: [{asked_case.reference}] We need your input",
        text="Let me in.",
    )

    assert hooks.post_postmark_inbound(client, payload).status_code == 200

    asked_case.refresh_from_db()
    assert asked_case.status == Status.PENDING_CUSTOMER
    assert not customer_messages(asked_case).exists()
    record = InboundEmail.objects.get()
    assert (record.outcome, record.reason, record.case, record.sender) == (
        InboundOutcome.REJECTED,
        InboundReason.NOT_CUSTOMER,
        asked_case,
        stranger,
    )
    assert record.body_excerpt == "Let me in."


def test_reply_from_unknown_address_is_rejected(client, asked_case):
    payload = hooks.mailgun_inbound(
        from_email="nobody@elsewhere.example",
        to=reply_address(asked_case, asked_case.requester),
        subject="Re: We need your input",
        text="Hello",
    )

    assert hooks.post_mailgun_inbound(client, payload).status_code == 200

    asked_case.refresh_from_db()
    assert asked_case.status == Status.PENDING_CUSTOMER
    assert InboundEmail.objects.get().reason == InboundReason.UNKNOWN_SENDER


def test_colleague_using_requesters_reply_address_is_rejected(client, asked_case):
    """Even a colleague allowed to act on the case must answer from their own email."""
    colleague = customer(asked_case.organisation, sees_organisation=True)
    assert asked_case.is_customer(colleague)
    payload = hooks.postmark_inbound(
        from_email=colleague.email,
        to=reply_address(asked_case, asked_case.requester),
        subject="Re: We need your input",
        text="Answering for Alex.",
    )

    assert hooks.post_postmark_inbound(client, payload).status_code == 200

    asked_case.refresh_from_db()
    assert asked_case.status == Status.PENDING_CUSTOMER
    assert InboundEmail.objects.get().reason == InboundReason.SENDER_MISMATCH


def test_allowed_colleague_replying_to_their_own_email_is_accepted(client, asked_case):
    colleague = customer(asked_case.organisation, sees_organisation=True)
    payload = hooks.postmark_inbound(
        from_email=colleague.email,
        to=reply_address(asked_case, colleague),
        subject="Re: We need your input",
        text="Logs attached by a colleague.",
    )

    assert hooks.post_postmark_inbound(client, payload).status_code == 200

    asked_case.refresh_from_db()
    assert asked_case.status == Status.IN_PROGRESS
    assert customer_messages(asked_case).get().author == colleague


def test_case_reference_in_subject_alone_never_reaches_that_case(client, asked_case):
    """Another customer quotes a case reference: the subject is not a route."""
    stranger = customer()
    payload = hooks.postmark_inbound(
        from_email=stranger.email,
        to="support@reply.example.com",
        subject=f"Re: [{asked_case.reference}] We need your input",
        text=f"Please add this to {asked_case.reference}.",
    )

    assert hooks.post_postmark_inbound(client, payload).status_code == 200

    asked_case.refresh_from_db()
    assert asked_case.status == Status.PENDING_CUSTOMER
    assert not asked_case.messages.filter(source=MessageSource.EMAIL).exists()
    record = InboundEmail.objects.get()
    assert (record.reason, record.case) == (InboundReason.NO_CASE, None)


def test_other_customers_reference_in_subject_goes_to_their_own_case(client, asked_case):
    """A genuine reply to one's own case, quoting someone else's reference, stays home."""
    other = CaseFactory(pending_customer=True)
    payload = hooks.postmark_inbound(
        from_email=other.requester.email,
        to=reply_address(other, other.requester),
        subject=f"Re: [{asked_case.reference}] We need your input",
        text="Same problem as that case.",
    )

    assert hooks.post_postmark_inbound(client, payload).status_code == 200

    asked_case.refresh_from_db()
    other.refresh_from_db()
    assert asked_case.status == Status.PENDING_CUSTOMER
    assert not customer_messages(asked_case).exists()
    assert customer_messages(other).get().body == "Same problem as that case."


def test_forged_reply_address_is_not_a_route(client, asked_case):
    requester = asked_case.requester
    genuine = reply_address(asked_case, requester)
    forged = genuine.replace(genuine.split("@")[0].split(".")[-1], "0" * 20)
    payload = hooks.postmark_inbound(
        from_email=requester.email, to=forged, subject="Re: input", text="Hi"
    )

    assert hooks.post_postmark_inbound(client, payload).status_code == 200

    asked_case.refresh_from_db()
    assert asked_case.status == Status.PENDING_CUSTOMER
    assert InboundEmail.objects.get().reason == InboundReason.NO_CASE


def test_made_up_notification_message_id_is_not_a_route(client, asked_case):
    question = question_of(asked_case)
    payload = hooks.postmark_inbound(
        from_email=asked_case.requester.email,
        to="support@example.com",
        subject="Re: input",
        text="Hi",
        headers=[("In-Reply-To", f"<notification.{question.pk}.000000000000@reply.example.com>")],
    )

    assert hooks.post_postmark_inbound(client, payload).status_code == 200

    asked_case.refresh_from_db()
    assert asked_case.status == Status.PENDING_CUSTOMER
    assert InboundEmail.objects.get().reason == InboundReason.NO_CASE


def test_inbound_from_a_provider_not_enabled_changes_nothing(client, asked_case, settings):
    settings.INBOUND_EMAIL_ESPS = ["postmark"]
    payload = hooks.mailgun_inbound(
        from_email=asked_case.requester.email,
        to=reply_address(asked_case, asked_case.requester),
        subject="Re: input",
        text="Hi",
    )

    assert hooks.post_mailgun_inbound(client, payload).status_code == 200

    asked_case.refresh_from_db()
    assert asked_case.status == Status.PENDING_CUSTOMER
    assert InboundEmail.objects.get().reason == InboundReason.PROVIDER_DISABLED


def test_same_email_through_the_enabled_provider_still_counts(client, asked_case, settings):
    settings.INBOUND_EMAIL_ESPS = ["postmark"]
    common = dict(
        from_email=asked_case.requester.email,
        to=reply_address(asked_case, asked_case.requester),
        subject="Re: input",
        text="Sent during the switch of provider.",
        message_id=hooks.new_message_id(),
    )

    hooks.post_mailgun_inbound(client, hooks.mailgun_inbound(**common))
    hooks.post_postmark_inbound(client, hooks.postmark_inbound(**common))

    asked_case.refresh_from_db()
    assert asked_case.status == Status.IN_PROGRESS
    assert customer_messages(asked_case).count() == 1
    assert InboundEmail.objects.count() == 2


# --- Duplicates -----------------------------------------------------------------------


def test_same_message_delivered_twice_is_stored_once(client, asked_case):
    requester = asked_case.requester
    payload = hooks.postmark_inbound(
        from_email=requester.email,
        to=reply_address(asked_case, requester),
        subject="Re: We need your input",
        text="Logs coming.",
    )

    first = hooks.post_postmark_inbound(client, payload)
    second = hooks.post_postmark_inbound(client, payload)

    assert (first.status_code, second.status_code) == (200, 200)
    assert customer_messages(asked_case).count() == 1
    assert InboundEmail.objects.count() == 1
    assert asked_case.events.filter(transition="receive_customer_reply").count() == 1


def test_same_message_through_both_providers_is_stored_once(client, asked_case):
    requester = asked_case.requester
    message_id = hooks.new_message_id()
    common = dict(
        from_email=requester.email,
        to=reply_address(asked_case, requester),
        subject="Re: We need your input",
        text="Logs coming.",
        message_id=message_id,
    )

    hooks.post_postmark_inbound(client, hooks.postmark_inbound(**common))
    hooks.post_mailgun_inbound(client, hooks.mailgun_inbound(**common))

    assert customer_messages(asked_case).count() == 1
    assert InboundEmail.objects.get().email_message_id == message_id


# --- Automatic mail -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ([("Auto-Submitted", "auto-replied")], InboundReason.AUTO_REPLY),
        ([("Auto-Submitted", "auto-generated")], InboundReason.AUTO_REPLY),
        ([("Precedence", "bulk")], InboundReason.AUTO_REPLY),
        ([("Precedence", "auto_reply")], InboundReason.AUTO_REPLY),
        ([("X-Autoreply", "yes")], InboundReason.AUTO_REPLY),
        ([("X-Autorespond", "Out of office")], InboundReason.AUTO_REPLY),
    ],
)
def test_auto_reply_never_changes_a_case(client, asked_case, headers, reason):
    requester = asked_case.requester
    payload = hooks.postmark_inbound(
        from_email=requester.email,
        to=reply_address(asked_case, requester),
        subject="Re: We need your input",  # each header counts on its own
        text="I am out of the office until Monday.",
        headers=headers,
    )

    assert hooks.post_postmark_inbound(client, payload).status_code == 200

    asked_case.refresh_from_db()
    assert asked_case.status == Status.PENDING_CUSTOMER
    assert not customer_messages(asked_case).exists()
    record = InboundEmail.objects.get()
    assert (record.outcome, record.reason, record.case) == (
        InboundOutcome.AUTOMATED,
        reason,
        asked_case,
    )


def test_auto_submitted_no_is_a_person(client, asked_case):
    requester = asked_case.requester
    payload = hooks.postmark_inbound(
        from_email=requester.email,
        to=reply_address(asked_case, requester),
        subject="Re: input",
        text="Written by me.",
        headers=[("Auto-Submitted", "no")],
    )

    hooks.post_postmark_inbound(client, payload)

    assert InboundEmail.objects.get().outcome == InboundOutcome.ACCEPTED


def test_bounce_of_our_email_never_changes_a_case(client, asked_case):
    payload = hooks.postmark_inbound(
        from_email="MAILER-DAEMON@mail.customer.example",
        to=reply_address(asked_case, asked_case.requester),
        subject="Undelivered Mail Returned to Sender",
        text="This is the mail system. I'm sorry to have to inform you...",
        return_path="<>",
    )

    assert hooks.post_postmark_inbound(client, payload).status_code == 200

    asked_case.refresh_from_db()
    assert asked_case.status == Status.PENDING_CUSTOMER
    assert InboundEmail.objects.get().reason == InboundReason.BOUNCE


def test_our_own_email_coming_back_is_a_loop(client, asked_case):
    question = question_of(asked_case)
    payload = hooks.postmark_inbound(
        from_email=asked_case.requester.email,
        to=reply_address(asked_case, asked_case.requester),
        subject=question.subject,
        text="Forwarded back by a mail rule.",
        message_id=message_id_for(question),
    )

    assert hooks.post_postmark_inbound(client, payload).status_code == 200

    asked_case.refresh_from_db()
    assert asked_case.status == Status.PENDING_CUSTOMER
    assert InboundEmail.objects.get().reason == InboundReason.LOOP


def test_mail_from_our_own_domain_is_a_loop(client, asked_case):
    payload = hooks.mailgun_inbound(
        from_email="case.1.1.abc@reply.example.com",
        to=reply_address(asked_case, asked_case.requester),
        subject="Re: input",
        text="Looping",
    )

    assert hooks.post_mailgun_inbound(client, payload).status_code == 200

    asked_case.refresh_from_db()
    assert asked_case.status == Status.PENDING_CUSTOMER
    assert InboundEmail.objects.get().reason == InboundReason.LOOP


def test_empty_reply_is_refused_and_recorded(client, asked_case):
    requester = asked_case.requester
    payload = hooks.postmark_inbound(
        from_email=requester.email,
        to=reply_address(asked_case, requester),
        subject="Re: input",
        text="> only the quote\n",
    )

    assert hooks.post_postmark_inbound(client, payload).status_code == 200

    asked_case.refresh_from_db()
    assert asked_case.status == Status.PENDING_CUSTOMER
    record = InboundEmail.objects.get()
    assert (record.outcome, record.reason) == (InboundOutcome.REJECTED, InboundReason.REFUSED)


# --- Forged requests ------------------------------------------------------------------


def test_postmark_post_with_wrong_basic_auth_gets_400_and_changes_nothing(client, asked_case):
    requester = asked_case.requester
    payload = hooks.postmark_inbound(
        from_email=requester.email,
        to=reply_address(asked_case, requester),
        subject="Re: input",
        text="Forged",
    )

    wrong = hooks.post_postmark_inbound(client, payload, auth=hooks.basic_auth("anymail:guess"))
    missing = hooks.post_postmark_inbound(client, payload, auth={})

    assert (wrong.status_code, missing.status_code) == (400, 400)
    asked_case.refresh_from_db()
    assert asked_case.status == Status.PENDING_CUSTOMER
    assert not InboundEmail.objects.exists()
    assert not customer_messages(asked_case).exists()


def test_mailgun_post_with_bad_signature_gets_400_and_changes_nothing(client, asked_case):
    requester = asked_case.requester
    forged = hooks.mailgun_inbound(
        from_email=requester.email,
        to=reply_address(asked_case, requester),
        subject="Re: input",
        text="Forged",
        signing_key="not-the-key",
    )
    unsigned = {key: value for key, value in forged.items() if key != "signature"}

    assert hooks.post_mailgun_inbound(client, forged).status_code == 400
    assert hooks.post_mailgun_inbound(client, unsigned).status_code == 400
    asked_case.refresh_from_db()
    assert asked_case.status == Status.PENDING_CUSTOMER
    assert not InboundEmail.objects.exists()


def test_mailgun_without_signing_key_refuses_posts_signed_with_an_empty_key(
    client, asked_case, settings
):
    """An unset key must not become the empty key that anyone can sign with."""
    from importlib import reload

    import portal.settings.base as portal_settings

    reload(portal_settings)  # the real settings module with no Mailgun key in the environment
    settings.ANYMAIL = {**portal_settings.ANYMAIL, "WEBHOOK_SECRET": hooks.WEBHOOK_SECRET}
    assert "MAILGUN_WEBHOOK_SIGNING_KEY" not in settings.ANYMAIL
    forged = hooks.mailgun_inbound(
        from_email=asked_case.requester.email,
        to=reply_address(asked_case, asked_case.requester),
        subject="Re: input",
        text="Forged",
        signing_key="",
    )
    client.raise_request_exception = False

    response = hooks.post_mailgun_inbound(client, forged)

    assert response.status_code >= 400
    asked_case.refresh_from_db()
    assert asked_case.status == Status.PENDING_CUSTOMER
    assert not InboundEmail.objects.exists()


def test_deploy_check_requires_a_webhook_secret(settings):
    from cases.checks import check_webhook_secret

    settings.ANYMAIL = {}
    assert [error.id for error in check_webhook_secret(None)] == ["cases.E001"]
    settings.ANYMAIL = {"WEBHOOK_SECRET": "user:pass"}
    assert check_webhook_secret(None) == []


def test_history_of_an_accepted_reply_names_the_customer(client, asked_case):
    requester = asked_case.requester
    payload = hooks.postmark_inbound(
        from_email=requester.email.upper(),
        to=reply_address(asked_case, requester),
        subject="Re: input",
        text="Case-insensitive address.",
    )

    hooks.post_postmark_inbound(client, payload)

    event = CaseEvent.objects.filter(case=asked_case).order_by("id").last()
    assert (event.actor, event.actor_kind, event.to_status) == (
        requester,
        "customer",
        Status.IN_PROGRESS,
    )


def test_postmark_reply_with_attachments_larger_than_a_page_form_is_kept(client, asked_case):
    """A 3 MB log is within the attachment limit, though the post is over Django's 2 MB."""
    requester = asked_case.requester
    log = b"2026-11-28 02:00:00 backup failed: exit code 137\n" * 64_000  # ~3.1 MB
    payload = hooks.postmark_inbound(
        from_email=requester.email,
        to=reply_address(asked_case, requester),
        subject=f"Re: [{asked_case.reference}] We need your input",
        text="The full log is attached.",
        attachments=[("backup.log", log, "text/plain")],
    )

    response = hooks.post_postmark_inbound(client, payload)

    assert response.status_code == 200
    reply = customer_messages(asked_case).get()
    attachment = Attachment.objects.get(message=reply)
    assert (attachment.filename, attachment.size) == ("backup.log", len(log))


def test_inbound_post_over_the_email_limit_is_refused_and_changes_nothing(
    client, asked_case, settings
):
    settings.INBOUND_EMAIL_MAX_BYTES = 1_000_000
    requester = asked_case.requester
    payload = hooks.postmark_inbound(
        from_email=requester.email,
        to=reply_address(asked_case, requester),
        subject="Re: logs",
        text="Huge.",
        attachments=[("huge.log", b"x" * 1_000_000, "text/plain")],
    )

    response = hooks.post_postmark_inbound(client, payload)

    assert response.status_code == 413
    assert not customer_messages(asked_case).exists()
    assert not InboundEmail.objects.exists()


# --- Provider input the parsers choke on ----------------------------------------------


def test_postmark_reply_with_an_empty_attachment_is_kept_and_says_the_file_was_not_added(
    client, asked_case
):
    requester = asked_case.requester
    payload = hooks.postmark_inbound(
        from_email=requester.email,
        to=reply_address(asked_case, requester),
        subject="Re: input",
        text="Logs attached (the other file came out empty).",
        attachments=[("job.log", b"02:00 job failed\n", "text/plain")],
    )
    payload["Attachments"].append(
        {"Name": "empty.txt", "Content": "", "ContentType": "text/plain"}
    )

    response = hooks.post_postmark_inbound(client, payload)

    assert response.status_code == 200
    reply = customer_messages(asked_case).get()
    assert "Logs attached" in reply.body
    assert "[Attachments not added]" in reply.body and "empty.txt" in reply.body
    assert [a.filename for a in Attachment.objects.filter(message=reply)] == ["job.log"]
    assert InboundEmail.objects.get().outcome == InboundOutcome.ACCEPTED


def test_postmark_payload_anymail_cannot_read_is_recorded_and_not_retried(client, asked_case):
    payload = hooks.postmark_inbound(
        from_email=asked_case.requester.email,
        to=reply_address(asked_case, asked_case.requester),
        subject="Re: input",
        text="Hello",
    )
    payload["Headers"] = "not a list of headers"

    first = hooks.post_postmark_inbound(client, payload)
    retried = hooks.post_postmark_inbound(client, payload)

    assert (first.status_code, retried.status_code) == (200, 200)
    record = InboundEmail.objects.get()
    assert (record.outcome, record.reason) == (InboundOutcome.REJECTED, InboundReason.UNREADABLE)
    assert record.esp_name == "Postmark"
    assert "not a list of headers" in record.body_excerpt
    assert record.detail
    asked_case.refresh_from_db()
    assert asked_case.status == Status.PENDING_CUSTOMER


def test_authenticated_post_that_is_not_json_is_recorded_as_unreadable(client, asked_case):
    response = client.post(
        hooks.POSTMARK_INBOUND_URL,
        data=b"\xff\xfe{not json",
        content_type="application/json",
        **hooks.basic_auth(),
    )

    assert response.status_code == 200
    assert InboundEmail.objects.get().reason == InboundReason.UNREADABLE


def test_mailgun_post_anymail_cannot_read_is_recorded(client, asked_case):
    data = hooks.mailgun_inbound(
        from_email=asked_case.requester.email,
        to=reply_address(asked_case, asked_case.requester),
        subject="Re: input",
        text="Hello",
    )
    data["message-headers"] = "{not json"

    response = hooks.post_mailgun_inbound(client, data)

    assert response.status_code == 200
    record = InboundEmail.objects.get()
    assert (record.esp_name, record.reason) == ("Mailgun", InboundReason.UNREADABLE)


# --- Size and credentials before the body ---------------------------------------------


def test_mailgun_raw_mime_reply_over_two_megabytes_is_accepted(client, asked_case):
    requester = asked_case.requester
    log = b"2026-11-28 02:00:00 backup failed: exit code 137\n" * 64_000  # ~3.1 MB
    data = hooks.mailgun_inbound_mime(
        from_email=requester.email,
        to=reply_address(asked_case, requester),
        subject="Re: input",
        text="The full log is attached.",
        attachments=[("backup.log", log, "text/plain")],
    )
    assert len(data["body-mime"]) > 3 * 1024 * 1024

    response = hooks.post_mailgun_inbound_mime(client, data)

    assert response.status_code == 200
    reply = customer_messages(asked_case).get()
    attachment = Attachment.objects.get(message=reply)
    assert (attachment.filename, attachment.size) == ("backup.log", len(log))


def test_mailgun_fully_parsed_reply_over_two_megabytes_keeps_its_attachment(client, asked_case):
    requester = asked_case.requester
    log = b"2026-11-28 02:00:00 backup failed: exit code 137\n" * 64_000
    data = hooks.mailgun_inbound(
        from_email=requester.email,
        to=reply_address(asked_case, requester),
        subject="Re: input",
        text="Attached.",
        attachments=[("backup.log", log, "text/plain")],
    )

    assert hooks.post_mailgun_inbound(client, data).status_code == 200

    attachment = Attachment.objects.get(message=customer_messages(asked_case).get())
    assert attachment.size == len(log)


def test_a_three_megabyte_form_post_to_a_page_is_still_refused(client):
    client.raise_request_exception = False

    response = client.post("/accounts/login/", {"username": "x" * (3 * 1024 * 1024)})

    assert response.status_code in (400, 413)


def test_unauthenticated_large_post_is_refused_without_reading_the_body(client, asked_case):
    response = hooks.post_unread(client, hooks.POSTMARK_INBOUND_URL, 95 * 1024 * 1024)

    assert response.status_code == 400
    assert not InboundEmail.objects.exists()


def test_authenticated_post_over_the_limit_is_refused_by_its_length_unread(client, settings):
    settings.INBOUND_EMAIL_MAX_BYTES = 1_000_000

    response = hooks.post_unread(
        client, hooks.MAILGUN_INBOUND_MIME_URL, 1_000_001, **hooks.basic_auth()
    )

    assert response.status_code == 413


def test_every_configured_webhook_secret_is_accepted(client, asked_case, settings):
    settings.ANYMAIL = {**settings.ANYMAIL, "WEBHOOK_SECRET": ["old:secret", hooks.WEBHOOK_SECRET]}
    payload = hooks.postmark_inbound(
        from_email=asked_case.requester.email,
        to=reply_address(asked_case, asked_case.requester),
        subject="Re: input",
        text="During a secret rotation.",
    )

    old = hooks.post_postmark_inbound(client, payload, auth=hooks.basic_auth("old:secret"))

    assert old.status_code == 200
    assert customer_messages(asked_case).exists()
