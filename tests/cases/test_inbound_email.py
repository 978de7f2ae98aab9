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
    payload = hooks.reply(
        asked_case, subject=f"Re: [{asked_case.reference}] We need your input", text=QUOTED_REPLY
    )

    response = hooks.post_inbound(client, payload)

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
    hooks.recorded(
        outcome=InboundOutcome.ACCEPTED, reason=InboundReason.REPLY, case=asked_case, reply=reply
    )
    event = asked_case.events.order_by("id").last()
    assert (event.transition, event.actor) == ("receive_customer_reply", requester)
    assert asked_case.notifications.filter(kind=NotificationKind.CUSTOMER_REPLIED).exists()


@pytest.mark.usefixtures("file_storage")
def test_mailgun_reply_keeps_allowed_attachments_and_notes_refused_ones(client, asked_case):
    response = hooks.send_reply(
        client,
        asked_case,
        provider="mailgun",
        subject=f"Re: [{asked_case.reference}] We need your input",
        text="Logs attached.\n\nOn Sat, 28 Nov 2026 at 09:00, Support wrote:\n> Send logs",
        attachments=[
            ("job.log", b"02:00:01 ERROR connection refused\n", "text/plain"),
            ("tool.exe", b"MZ\x90\x00binary", "application/octet-stream"),
        ],
    )

    assert response.status_code == 200
    assert hooks.refreshed(asked_case).status == Status.IN_PROGRESS
    reply = customer_messages(asked_case).get()
    assert reply.body.startswith("Logs attached.\n\n[Attachments not added]")
    assert "tool.exe" in reply.body
    attachment = Attachment.objects.get(message=reply)
    assert (attachment.filename, attachment.content_type) == ("job.log", "text/plain")
    with attachment.file.open("rb") as stored:
        assert stored.read() == b"02:00:01 ERROR connection refused\n"


def test_reply_without_reply_address_is_found_by_in_reply_to(client, asked_case):
    """Some clients reply to From: the headers still name our question email."""
    question = question_of(asked_case)
    response = hooks.send_reply(
        client,
        asked_case,
        to="support@example.com",
        subject="Re: We need your input",
        text="Done, see the thread.",
        headers=[
            ("In-Reply-To", message_id_for(question)),
            ("References", message_id_for(question)),
        ],
    )

    assert response.status_code == 200
    assert hooks.refreshed(asked_case).status == Status.IN_PROGRESS
    assert customer_messages(asked_case).get().body == "Done, see the thread."


def test_reply_to_resolved_case_reopens_it(client):
    case = CaseFactory(resolved=True)

    response = hooks.send_reply(
        client,
        case,
        subject=f"Re: [{case.reference}] Resolved",
        text="It is still failing, sorry.",
    )

    assert response.status_code == 200
    case.refresh_from_db()
    assert case.status == Status.OPEN
    assert case.resolved_at is None


def reply_to_closed(client, case):
    return hooks.send_reply(
        client,
        case,
        subject=f"Re: [{case.reference}] Closed automatically",
        text="The problem is back.",
    )


def test_reply_to_closed_case_reopens_it_by_default(client):
    case = CaseFactory(closed=True)

    assert reply_to_closed(client, case).status_code == 200

    assert hooks.refreshed(case).status == Status.OPEN
    assert Case.objects.count() == 1


def test_reply_to_closed_case_starts_linked_case_when_configured(client, settings):
    settings.CASE_EMAIL_REPLY_TO_CLOSED = "new_case"
    case = CaseFactory(closed=True)

    assert reply_to_closed(client, case).status_code == 200

    assert hooks.refreshed(case).status == Status.CLOSED
    follow_up = Case.objects.get(follow_up_of=case)
    assert follow_up.status == Status.NEW
    assert follow_up.requester == case.requester
    assert case.reference in follow_up.subject
    first = follow_up.messages.get()
    assert (first.body, first.source) == ("The problem is back.", MessageSource.EMAIL)
    assert case.events.filter(transition="follow_up").exists()
    hooks.recorded(outcome=InboundOutcome.ACCEPTED, reason=InboundReason.FOLLOW_UP, reply=first)


def test_overlong_reply_is_shortened_like_the_web_limit(client, asked_case):
    from cases.inbound.receive import REPLY_MAX_CHARS

    response = hooks.send_reply(
        client, asked_case, subject="Re: We need your input", text="x" * (REPLY_MAX_CHARS + 10)
    )

    assert response.status_code == 200
    body = customer_messages(asked_case).get().body
    assert body.startswith("x" * REPLY_MAX_CHARS + "\n\n[Shortened")
    assert "x" * (REPLY_MAX_CHARS + 1) not in body


def test_html_only_reply_is_turned_into_text(client, asked_case):
    response = hooks.send_reply(
        client,
        asked_case,
        subject="Re: We need your input",
        text="",
        html='<div>Logs are in <b>/var/log/job</b>.</div><div class="gmail_quote">'
        "On Sat, Support wrote: <blockquote>Send logs</blockquote></div>",
    )

    assert response.status_code == 200
    assert customer_messages(asked_case).get().body == "Logs are in /var/log/job."


# --- Rejected -------------------------------------------------------------------------


def test_reply_from_stranger_is_recorded_and_never_attached(client, asked_case):
    stranger = customer()

    response = hooks.send_reply(
        client,
        asked_case,
        stranger,
        to=asked_case.requester,
        subject=f"Re: [{asked_case.reference}] We need your input",
        text="Let me in.",
    )

    assert response.status_code == 200
    assert hooks.refreshed(asked_case).status == Status.PENDING_CUSTOMER
    assert not customer_messages(asked_case).exists()
    record = hooks.recorded(
        outcome=InboundOutcome.REJECTED,
        reason=InboundReason.NOT_CUSTOMER,
        case=asked_case,
        sender=stranger,
    )
    assert record.body_excerpt == "Let me in."


@pytest.mark.parametrize(
    ("provider", "fields", "reason"),
    [
        pytest.param(
            "mailgun",
            {
                "from_email": "nobody@elsewhere.example",
                "subject": "Re: We need your input",
                "text": "Hello",
            },
            InboundReason.UNKNOWN_SENDER,
            id="unknown-address",
        ),
        pytest.param(
            "postmark",
            {
                "from_email": "MAILER-DAEMON@mail.customer.example",
                "subject": "Undelivered Mail Returned to Sender",
                "text": "This is the mail system. I'm sorry to have to inform you...",
                "return_path": "<>",
            },
            InboundReason.BOUNCE,
            id="bounce-of-our-email",
        ),
        pytest.param(
            "mailgun",
            {"from_email": "case.1.1.abc@reply.example.com", "text": "Looping"},
            InboundReason.LOOP,
            id="from-our-own-domain",
        ),
    ],
)
def test_mail_from_no_customer_at_all_leaves_the_case_waiting(
    client, asked_case, provider, fields, reason
):
    """Sent to the requester's reply address, but from no one the portal knows."""
    assert hooks.send_reply(client, asked_case, provider=provider, **fields).status_code == 200

    hooks.assert_still_waiting(asked_case, reason)


def test_colleague_using_requesters_reply_address_is_rejected(client, asked_case):
    """Even a colleague allowed to act on the case must answer from their own email."""
    colleague = customer(asked_case.organisation, sees_organisation=True)
    assert asked_case.is_customer(colleague)

    response = hooks.send_reply(
        client,
        asked_case,
        colleague,
        to=asked_case.requester,
        subject="Re: We need your input",
        text="Answering for Alex.",
    )

    assert response.status_code == 200
    hooks.assert_still_waiting(asked_case, InboundReason.SENDER_MISMATCH)


def test_allowed_colleague_replying_to_their_own_email_is_accepted(client, asked_case):
    colleague = customer(asked_case.organisation, sees_organisation=True)

    response = hooks.send_reply(
        client,
        asked_case,
        colleague,
        subject="Re: We need your input",
        text="Logs attached by a colleague.",
    )

    assert response.status_code == 200
    assert hooks.refreshed(asked_case).status == Status.IN_PROGRESS
    assert customer_messages(asked_case).get().author == colleague


def test_case_reference_in_subject_alone_never_reaches_that_case(client, asked_case):
    """Another customer quotes a case reference: the subject is not a route."""
    response = hooks.send_reply(
        client,
        asked_case,
        customer(),
        to="support@reply.example.com",
        subject=f"Re: [{asked_case.reference}] We need your input",
        text=f"Please add this to {asked_case.reference}.",
    )

    assert response.status_code == 200
    assert hooks.refreshed(asked_case).status == Status.PENDING_CUSTOMER
    assert not asked_case.messages.filter(source=MessageSource.EMAIL).exists()
    hooks.recorded(reason=InboundReason.NO_CASE, case=None)


def test_other_customers_reference_in_subject_goes_to_their_own_case(client, asked_case):
    """A genuine reply to one's own case, quoting someone else's reference, stays home."""
    other = CaseFactory(pending_customer=True)

    response = hooks.send_reply(
        client,
        other,
        subject=f"Re: [{asked_case.reference}] We need your input",
        text="Same problem as that case.",
    )

    assert response.status_code == 200
    assert hooks.refreshed(asked_case).status == Status.PENDING_CUSTOMER
    other.refresh_from_db()
    assert not customer_messages(asked_case).exists()
    assert customer_messages(other).get().body == "Same problem as that case."


def test_forged_reply_address_is_not_a_route(client, asked_case):
    genuine = reply_address(asked_case, asked_case.requester)
    forged = genuine.replace(genuine.split("@")[0].split(".")[-1], "0" * 20)

    assert hooks.send_reply(client, asked_case, to=forged).status_code == 200

    hooks.assert_still_waiting(asked_case, InboundReason.NO_CASE)


def test_made_up_notification_message_id_is_not_a_route(client, asked_case):
    question = question_of(asked_case)

    response = hooks.send_reply(
        client,
        asked_case,
        to="support@example.com",
        headers=[("In-Reply-To", f"<notification.{question.pk}.000000000000@reply.example.com>")],
    )

    assert response.status_code == 200
    hooks.assert_still_waiting(asked_case, InboundReason.NO_CASE)


def test_inbound_from_a_provider_not_enabled_changes_nothing(client, asked_case, settings):
    settings.INBOUND_EMAIL_ESPS = ["postmark"]

    assert hooks.send_reply(client, asked_case, provider="mailgun").status_code == 200

    hooks.assert_still_waiting(asked_case, InboundReason.PROVIDER_DISABLED)


def test_same_email_through_the_enabled_provider_still_counts(client, asked_case, settings):
    settings.INBOUND_EMAIL_ESPS = ["postmark"]
    message_id = hooks.new_message_id()

    for provider in ("mailgun", "postmark"):
        hooks.send_reply(
            client,
            asked_case,
            provider=provider,
            text="Sent during the switch of provider.",
            message_id=message_id,
        )

    assert hooks.refreshed(asked_case).status == Status.IN_PROGRESS
    assert customer_messages(asked_case).count() == 1
    assert InboundEmail.objects.count() == 2


# --- Duplicates -----------------------------------------------------------------------


def test_same_message_delivered_twice_is_stored_once(client, asked_case):
    payload = hooks.reply(asked_case, subject="Re: We need your input", text="Logs coming.")

    first = hooks.post_inbound(client, payload)
    second = hooks.post_inbound(client, payload)

    assert (first.status_code, second.status_code) == (200, 200)
    assert customer_messages(asked_case).count() == 1
    assert InboundEmail.objects.count() == 1
    assert asked_case.events.filter(transition="receive_customer_reply").count() == 1


def test_same_message_through_both_providers_is_stored_once(client, asked_case):
    message_id = hooks.new_message_id()

    for provider in ("postmark", "mailgun"):
        hooks.send_reply(
            client,
            asked_case,
            provider=provider,
            subject="Re: We need your input",
            text="Logs coming.",
            message_id=message_id,
        )

    assert customer_messages(asked_case).count() == 1
    hooks.recorded(email_message_id=message_id)


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
    response = hooks.send_reply(
        client,
        asked_case,
        subject="Re: We need your input",  # each header counts on its own
        text="I am out of the office until Monday.",
        headers=headers,
    )

    assert response.status_code == 200
    assert hooks.refreshed(asked_case).status == Status.PENDING_CUSTOMER
    assert not customer_messages(asked_case).exists()
    hooks.recorded(outcome=InboundOutcome.AUTOMATED, reason=reason, case=asked_case)


def test_auto_submitted_no_is_a_person(client, asked_case):
    hooks.send_reply(client, asked_case, text="Written by me.", headers=[("Auto-Submitted", "no")])

    hooks.recorded(outcome=InboundOutcome.ACCEPTED)


def test_our_own_email_coming_back_is_a_loop(client, asked_case):
    question = question_of(asked_case)

    response = hooks.send_reply(
        client,
        asked_case,
        subject=question.subject,
        text="Forwarded back by a mail rule.",
        message_id=message_id_for(question),
    )

    assert response.status_code == 200
    hooks.assert_still_waiting(asked_case, InboundReason.LOOP)


def test_empty_reply_is_refused_and_recorded(client, asked_case):
    assert hooks.send_reply(client, asked_case, text="> only the quote\n").status_code == 200

    assert hooks.refreshed(asked_case).status == Status.PENDING_CUSTOMER
    hooks.recorded(outcome=InboundOutcome.REJECTED, reason=InboundReason.REFUSED)


# --- Forged requests ------------------------------------------------------------------


def test_postmark_post_with_wrong_basic_auth_gets_400_and_changes_nothing(client, asked_case):
    payload = hooks.reply(asked_case, text="Forged")

    wrong = hooks.post_inbound(client, payload, auth=hooks.basic_auth("anymail:guess"))
    missing = hooks.post_inbound(client, payload, auth={})

    assert (wrong.status_code, missing.status_code) == (400, 400)
    assert hooks.refreshed(asked_case).status == Status.PENDING_CUSTOMER
    assert not InboundEmail.objects.exists()
    assert not customer_messages(asked_case).exists()


def test_mailgun_post_with_bad_signature_gets_400_and_changes_nothing(client, asked_case):
    forged = hooks.reply(asked_case, provider="mailgun", text="Forged", signing_key="not-the-key")
    unsigned = {key: value for key, value in forged.items() if key != "signature"}

    assert hooks.post_mailgun_inbound(client, forged).status_code == 400
    assert hooks.post_mailgun_inbound(client, unsigned).status_code == 400
    assert hooks.refreshed(asked_case).status == Status.PENDING_CUSTOMER
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
    client.raise_request_exception = False

    response = hooks.send_reply(
        client, asked_case, provider="mailgun", text="Forged", signing_key=""
    )

    assert response.status_code >= 400
    assert hooks.refreshed(asked_case).status == Status.PENDING_CUSTOMER
    assert not InboundEmail.objects.exists()


def test_deploy_check_requires_a_webhook_secret(settings):
    from cases.checks import check_webhook_secret

    settings.ANYMAIL = {}
    assert [error.id for error in check_webhook_secret(None)] == ["cases.E001"]
    settings.ANYMAIL = {"WEBHOOK_SECRET": "user:pass"}
    assert check_webhook_secret(None) == []


def test_history_of_an_accepted_reply_names_the_customer(client, asked_case):
    requester = asked_case.requester

    hooks.send_reply(
        client, asked_case, from_email=requester.email.upper(), text="Case-insensitive address."
    )

    event = CaseEvent.objects.filter(case=asked_case).order_by("id").last()
    assert (event.actor, event.actor_kind, event.to_status) == (
        requester,
        "customer",
        Status.IN_PROGRESS,
    )


# A log over Django's 2 MB form limit, within the attachment limit.
BIG_LOG = b"2026-11-28 02:00:00 backup failed: exit code 137\n" * 64_000  # ~3.1 MB


@pytest.mark.usefixtures("file_storage")
def test_postmark_reply_with_attachments_larger_than_a_page_form_is_kept(client, asked_case):
    """A 3 MB log is within the attachment limit, though the post is over Django's 2 MB."""
    response = hooks.send_reply(
        client,
        asked_case,
        subject=f"Re: [{asked_case.reference}] We need your input",
        text="The full log is attached.",
        attachments=[("backup.log", BIG_LOG, "text/plain")],
    )

    assert response.status_code == 200
    reply = customer_messages(asked_case).get()
    attachment = Attachment.objects.get(message=reply)
    assert (attachment.filename, attachment.size) == ("backup.log", len(BIG_LOG))
    # Its requester downloads all of it, through the portal, from either storage.
    client.force_login(asked_case.requester)
    download = client.get(f"/cases/{asked_case.reference}/attachments/{attachment.pk}/")
    assert download["Content-Length"] == str(len(BIG_LOG))
    assert b"".join(download.streaming_content) == BIG_LOG


def test_inbound_post_over_the_email_limit_is_refused_and_changes_nothing(
    client, asked_case, settings
):
    settings.INBOUND_EMAIL_MAX_BYTES = 1_000_000

    response = hooks.send_reply(
        client,
        asked_case,
        subject="Re: logs",
        text="Huge.",
        attachments=[("huge.log", b"x" * 1_000_000, "text/plain")],
    )

    assert response.status_code == 413
    assert not customer_messages(asked_case).exists()
    assert not InboundEmail.objects.exists()


# --- Provider input the parsers choke on ----------------------------------------------


def test_postmark_reply_with_an_empty_attachment_is_kept_and_says_the_file_was_not_added(
    client, asked_case
):
    payload = hooks.reply(
        asked_case,
        text="Logs attached (the other file came out empty).",
        attachments=[("job.log", b"02:00 job failed\n", "text/plain")],
    )
    payload["Attachments"].append(
        {"Name": "empty.txt", "Content": "", "ContentType": "text/plain"}
    )

    response = hooks.post_inbound(client, payload)

    assert response.status_code == 200
    reply = customer_messages(asked_case).get()
    assert "Logs attached" in reply.body
    assert "[Attachments not added]" in reply.body and "empty.txt" in reply.body
    assert [a.filename for a in Attachment.objects.filter(message=reply)] == ["job.log"]
    hooks.recorded(outcome=InboundOutcome.ACCEPTED)


def test_postmark_payload_anymail_cannot_read_is_recorded_and_not_retried(client, asked_case):
    payload = hooks.reply(asked_case, text="Hello")
    payload["Headers"] = "not a list of headers"

    first = hooks.post_inbound(client, payload)
    retried = hooks.post_inbound(client, payload)

    assert (first.status_code, retried.status_code) == (200, 200)
    record = hooks.recorded(
        outcome=InboundOutcome.REJECTED, reason=InboundReason.UNREADABLE, esp_name="Postmark"
    )
    assert "not a list of headers" in record.body_excerpt
    assert record.detail
    assert hooks.refreshed(asked_case).status == Status.PENDING_CUSTOMER


def test_authenticated_post_that_is_not_json_is_recorded_as_unreadable(client, asked_case):
    response = client.post(
        hooks.POSTMARK_INBOUND_URL,
        data=b"\xff\xfe{not json",
        content_type="application/json",
        **hooks.basic_auth(),
    )

    assert response.status_code == 200
    hooks.recorded(reason=InboundReason.UNREADABLE)


def test_mailgun_post_anymail_cannot_read_is_recorded(client, asked_case):
    data = hooks.reply(asked_case, provider="mailgun", text="Hello")
    data["message-headers"] = "{not json"

    response = hooks.post_mailgun_inbound(client, data)

    assert response.status_code == 200
    hooks.recorded(esp_name="Mailgun", reason=InboundReason.UNREADABLE)


# --- Size and credentials before the body ---------------------------------------------


def test_mailgun_raw_mime_reply_over_two_megabytes_is_accepted(client, asked_case):
    requester = asked_case.requester
    data = hooks.mailgun_inbound_mime(
        from_email=requester.email,
        to=reply_address(asked_case, requester),
        subject="Re: input",
        text="The full log is attached.",
        attachments=[("backup.log", BIG_LOG, "text/plain")],
    )
    assert len(data["body-mime"]) > 3 * 1024 * 1024

    response = hooks.post_mailgun_inbound_mime(client, data)

    assert response.status_code == 200
    reply = customer_messages(asked_case).get()
    attachment = Attachment.objects.get(message=reply)
    assert (attachment.filename, attachment.size) == ("backup.log", len(BIG_LOG))


def test_mailgun_fully_parsed_reply_over_two_megabytes_keeps_its_attachment(client, asked_case):
    response = hooks.send_reply(
        client,
        asked_case,
        provider="mailgun",
        text="Attached.",
        attachments=[("backup.log", BIG_LOG, "text/plain")],
    )

    assert response.status_code == 200
    attachment = Attachment.objects.get(message=customer_messages(asked_case).get())
    assert attachment.size == len(BIG_LOG)


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
    payload = hooks.reply(asked_case, text="During a secret rotation.")

    old = hooks.post_inbound(client, payload, auth=hooks.basic_auth("old:secret"))

    assert old.status_code == 200
    assert customer_messages(asked_case).exists()
