"""Optional emails can be turned off, essential ones cannot; the outbox decides when it
sends, so a preference changed (or access lost) after queueing wins."""

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cases import outbox
from cases.models import Notification, NotificationKind, NotificationState
from cases.outbox import triggers
from cases.outbox.preferences import topic_of
from portal import email_preferences
from portal.models import EmailTopic, Membership, Organisation
from tests.factories import CaseFactory, EngineerFactory, MessageFactory, customer

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen(time_machine):
    time_machine.move_to(NOW, tick=False)


def queued(case, kind, recipient, **fields) -> Notification:
    fields.setdefault("dedupe_key", f"test:{kind}:{recipient.pk}:{Notification.objects.count()}")
    return Notification.objects.create(
        case=case,
        kind=kind,
        recipient=recipient,
        to_email=recipient.email,
        subject=triggers._subject(case, kind) if case else "Open cases",
        **fields,
    )


def reminder_for(case) -> Notification:
    return queued(
        case,
        NotificationKind.REMINDER,
        case.requester,
        clock_started_at=case.pending_since,
        reminder_days_before=1,
    )


def digest_for(engineer) -> Notification:
    return queued(
        None,
        NotificationKind.DAILY_DIGEST,
        engineer,
        dedupe_key=f"digest:{NOW.date().isoformat()}:{engineer.pk}",
    )


def sent_state(notification: Notification) -> tuple[str, str]:
    notification.refresh_from_db()
    return notification.state, notification.last_error


# --- Which emails are optional --------------------------------------------------------


@pytest.fixture
def shared_case():
    """A case of one organisation, followed by its requester and an organisation admin."""
    organisation = Organisation.objects.create(name="Acme")
    requester = customer(organisation)
    colleague = customer(organisation, sees_organisation=True)
    case = CaseFactory(requester=requester, open=True)
    return case, requester, colleague


@pytest.mark.parametrize("kind", NotificationKind.values)
def test_only_reminders_digests_and_shared_replies_are_optional(kind, shared_case):
    case, requester, colleague = shared_case
    to_requester = Notification(case=case, kind=kind, recipient=requester)
    to_colleague = Notification(case=case, kind=kind, recipient=colleague)

    expected = {
        NotificationKind.REMINDER: EmailTopic.REMINDERS,
        NotificationKind.DAILY_DIGEST: EmailTopic.DAILY_DIGEST,
    }.get(kind)
    assert topic_of(to_requester) == expected
    if kind == NotificationKind.ENGINEER_REPLY:
        assert topic_of(to_colleague) == EmailTopic.SHARED_CASE_UPDATES
    else:
        assert topic_of(to_colleague) == expected


def test_an_optional_email_says_why_and_how_to_stop_it(shared_case):
    case, _, colleague = shared_case
    message = MessageFactory(case=case, author=case.assignee, author_kind="engineer")

    email = outbox.build_email(
        queued(case, NotificationKind.ENGINEER_REPLY, colleague, message=message)
    )

    url = email_preferences.unsubscribe_url(colleague, EmailTopic.SHARED_CASE_UPDATES)
    assert email.extra_headers["List-Unsubscribe"] == f"<{url}>"
    assert email.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    html = email.alternatives[0][0]
    for body in (email.body, html):
        assert f"case {case.reference} is shared with you" in body
        assert url in body
        assert "http://127.0.0.1:8000/accounts/profile/" in body or "/accounts/profile/" in body
    assert f"Stop these emails: {url}" in email.body
    assert f'<a href="{url}" style="color: #0b57d0;">Stop these emails</a>' in html


def test_an_essential_email_has_no_unsubscribe_link(shared_case):
    case, requester, _ = shared_case
    message = MessageFactory(case=case, author=case.assignee, author_kind="engineer")

    email = outbox.build_email(
        queued(case, NotificationKind.ENGINEER_REPLY, requester, message=message)
    )

    assert "List-Unsubscribe" not in email.extra_headers
    assert "List-Unsubscribe-Post" not in email.extra_headers
    assert "unsubscribe" not in email.body and "unsubscribe" not in email.alternatives[0][0]
    assert "Stop these emails" not in email.body


def test_a_digest_and_a_reminder_carry_their_own_topics_link():
    engineer = EngineerFactory()
    CaseFactory()  # waits unassigned
    case = CaseFactory(pending_customer=True)

    digest = outbox.build_email(digest_for(engineer))
    reminder = outbox.build_email(reminder_for(case))

    assert (
        email_preferences.unsubscribe_url(engineer, EmailTopic.DAILY_DIGEST)
        in (digest.extra_headers["List-Unsubscribe"])
    )
    assert "you are a support engineer and the daily digest is on for you" in digest.body
    assert (
        email_preferences.unsubscribe_url(case.requester, EmailTopic.REMINDERS)
        in (reminder.extra_headers["List-Unsubscribe"])
    )
    assert f"case {case.reference} is waiting for your reply" in reminder.body


# --- The outbox honours them when it sends --------------------------------------------


def test_a_reminder_turned_off_after_it_was_queued_is_not_sent(mailoutbox):
    case = CaseFactory(pending_customer=True)
    notification = reminder_for(case)
    email_preferences.turn_off(case.requester, EmailTopic.REMINDERS, source="profile")

    outbox.deliver(notification.pk)

    assert mailoutbox == []
    assert sent_state(notification) == (
        NotificationState.CANCELLED,
        f"Not sent: {case.requester.email} turned off reminders before a case closes by "
        "itself on 2 Mar 2026, 09:00 UTC.",
    )


def test_a_reminder_turned_back_on_before_it_goes_out_is_sent(mailoutbox):
    case = CaseFactory(pending_customer=True)
    email_preferences.turn_off(case.requester, EmailTopic.REMINDERS, source="profile")
    notification = reminder_for(case)
    email_preferences.save_choices(case.requester, wanted={EmailTopic.REMINDERS: True})

    outbox.deliver(notification.pk)

    assert [email.to for email in mailoutbox] == [[case.requester.email]]
    assert sent_state(notification)[0] == NotificationState.SENT


def test_a_digest_turned_off_is_not_sent(mailoutbox):
    engineer = EngineerFactory()
    CaseFactory()
    notification = digest_for(engineer)
    email_preferences.turn_off(engineer, EmailTopic.DAILY_DIGEST, source="link")

    outbox.deliver(notification.pk)

    assert mailoutbox == []
    state, reason = sent_state(notification)
    assert state == NotificationState.CANCELLED
    assert reason.startswith(f"Not sent: {engineer.email} turned off engineers' daily digest on")


def test_turning_off_shared_updates_stops_them_but_never_the_requesters_replies(
    mailoutbox, shared_case
):
    case, requester, colleague = shared_case
    message = MessageFactory(case=case, author=case.assignee, author_kind="engineer")
    to_requester = queued(case, NotificationKind.ENGINEER_REPLY, requester, message=message)
    to_colleague = queued(case, NotificationKind.ENGINEER_REPLY, colleague, message=message)
    for person in (requester, colleague):
        email_preferences.turn_off(person, EmailTopic.SHARED_CASE_UPDATES, source="profile")

    outbox.deliver_many([to_requester.pk, to_colleague.pk])

    assert [email.to for email in mailoutbox] == [[requester.email]]
    assert sent_state(to_requester)[0] == NotificationState.SENT
    assert sent_state(to_colleague)[0] == NotificationState.CANCELLED


def test_essential_emails_go_out_whatever_was_turned_off(mailoutbox):
    case = CaseFactory(pending_customer=True)
    for topic in EmailTopic:
        email_preferences.turn_off(case.requester, topic, source="profile")
    question = queued(case, NotificationKind.PENDING_CUSTOMER, case.requester)

    outbox.deliver(question.pk)

    assert [email.to for email in mailoutbox] == [[case.requester.email]]


def test_a_customer_deactivated_since_the_email_was_queued_is_not_emailed(mailoutbox):
    case = CaseFactory(resolved=True)
    notification = queued(case, NotificationKind.RESOLVED, case.requester)
    # In bulk, so no signal cancels it first: the send-time check alone must catch it.
    type(case.requester).objects.filter(pk=case.requester.pk).update(is_active=False)

    outbox.deliver(notification.pk)

    assert mailoutbox == []
    assert sent_state(notification) == (
        NotificationState.CANCELLED,
        f"Not sent: {case.requester.email} no longer has access to this case.",
    )


def test_an_organisation_admin_who_left_the_organisation_is_not_emailed(mailoutbox, shared_case):
    case, _, colleague = shared_case
    message = MessageFactory(case=case, author=case.assignee, author_kind="engineer")
    notification = queued(case, NotificationKind.ENGINEER_REPLY, colleague, message=message)
    Membership.objects.filter(user=colleague).update(
        organisation=Organisation.objects.create(name="Elsewhere")
    )

    outbox.deliver(notification.pk)

    assert mailoutbox == []
    assert sent_state(notification)[1] == (
        f"Not sent: {colleague.email} no longer has access to this case."
    )


def test_emails_to_engineers_are_not_checked_for_customer_access(mailoutbox):
    case = CaseFactory(open=True)
    notification = queued(case, NotificationKind.CUSTOMER_REPLIED, case.assignee)

    outbox.deliver(notification.pk)

    assert [email.to for email in mailoutbox] == [[case.assignee.email]]


def test_a_batch_reads_every_recipients_opt_outs_in_one_query(mailoutbox):
    cases = [CaseFactory(pending_customer=True) for _ in range(5)]
    reminders = [reminder_for(case) for case in cases]
    for case in cases[:3]:
        email_preferences.turn_off(case.requester, EmailTopic.REMINDERS, source="link")

    with CaptureQueriesContext(connection) as captured:
        outbox.deliver_many([n.pk for n in reminders])

    opt_out_queries = [q for q in captured.captured_queries if "portal_emailoptout" in q["sql"]]
    assert len(opt_out_queries) == 1
    assert len(mailoutbox) == 2
    states = [sent_state(n)[0] for n in reminders]
    assert states == [NotificationState.CANCELLED] * 3 + [NotificationState.SENT] * 2
    # Each cancelled row names its own recipient.
    assert {sent_state(n)[1].split()[2] for n in reminders[:3]} == {
        case.requester.email for case in cases[:3]
    }
