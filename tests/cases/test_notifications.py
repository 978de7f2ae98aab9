"""Notification emails: who gets which email, what it says, and that each goes out once."""

from datetime import UTC, datetime, timedelta

import pytest
import requests
from anymail.exceptions import AnymailAPIError, AnymailRecipientsRefused
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend
from django.db import transaction

from cases import outbox, services
from cases.models import InfoRequestKind, Notification, NotificationKind, NotificationState
from cases.outbox import Outcome
from cases.tasks import relay_notifications_task, send_notification
from tests.factories import CaseFactory, EngineerFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def html_of(email) -> str:
    [(html, mimetype)] = email.alternatives
    assert mimetype == "text/html"
    return html


def only_email_to(outbox, address):
    emails = [email for email in outbox if email.to == [address]]
    assert len(emails) == 1, [e.subject for e in outbox]
    return emails[0]


@pytest.fixture
def frozen(time_machine):
    time_machine.move_to(NOW, tick=False)
    return time_machine


# --- To the customer ------------------------------------------------------------------


def test_request_info_emails_customer_the_question_what_to_do_and_close_date(
    frozen, mailoutbox, django_capture_on_commit_callbacks
):
    case = CaseFactory(in_progress=True, subject="Pods restart")
    with django_capture_on_commit_callbacks(execute=True):
        services.case_request_info(
            case=case,
            engineer=case.assignee,
            message="Please attach the output of kubectl describe pod.",
            kind=InfoRequestKind.LOGS,
        )

    email = only_email_to(mailoutbox, case.requester.email)
    assert len(mailoutbox) == 1
    assert email.subject == f"[{case.reference}] We need your input: Pods restart"
    for body in (email.body, html_of(email)):
        assert "Please attach the output of kubectl describe pod." in body
        assert "What to do" in body
        assert "16 March 2026" in body  # 14 days after the request
        assert f"http://127.0.0.1:8000/cases/{case.reference}/" in body
    assert email.reply_to == [outbox.reply_address(case, case.requester)]
    assert outbox.parse_reply_address(email.reply_to[0]) == (case.pk, case.requester.pk)
    row = Notification.objects.get()
    assert row.kind == NotificationKind.PENDING_CUSTOMER
    assert row.state == NotificationState.SENT
    assert row.attempts == 1
    assert email.metadata == {"notification_id": str(row.pk), "case": case.reference}
    assert email.extra_headers["Message-ID"] == outbox.message_id_for(row)


def test_html_email_escapes_what_people_wrote(
    frozen, mailoutbox, django_capture_on_commit_callbacks
):
    case = CaseFactory(in_progress=True, subject="<b>Broken</b> & slow")
    with django_capture_on_commit_callbacks(execute=True):
        services.case_request_info(
            case=case,
            engineer=case.assignee,
            message='<script>alert("x")</script> & <img src=x>',
            kind=InfoRequestKind.LOGS,
        )

    [email] = mailoutbox
    html = html_of(email)
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;img src=x&gt;" in html
    assert "&lt;b&gt;Broken&lt;/b&gt; &amp; slow" in html
    # The plain text part is not HTML: nothing is escaped there.
    assert '<script>alert("x")</script> & <img src=x>' in email.body
    assert email.subject.endswith("<b>Broken</b> & slow")


def test_resolve_emails_customer_to_confirm_or_reopen_with_close_date(
    frozen, mailoutbox, django_capture_on_commit_callbacks
):
    case = CaseFactory(in_progress=True)
    with django_capture_on_commit_callbacks(execute=True):
        services.case_resolve(case=case, engineer=case.assignee, message="Fixed in 2.4.1.")

    email = only_email_to(mailoutbox, case.requester.email)
    assert len(mailoutbox) == 1
    assert email.subject.startswith(f"[{case.reference}] Resolved:")
    for body in (email.body, html_of(email)):
        assert "Fixed in 2.4.1." in body
        assert "Confirm it worked" in body
        assert "It's not fixed — reopen" in body or "It&#x27;s not fixed — reopen" in body
        assert "/cases/link/confirm/" in body
        assert "/cases/link/reopen/" in body
        assert "9 March 2026" in body  # 7 days after resolving
        # What replying does, truthfully (the spec: a reply is an objection).
        assert "A reply to this email counts as an objection" in body
        assert "reopens it" in body
        assert "keep the reference in the subject" not in body
    assert email.reply_to == [outbox.reply_address(case, case.requester)]


def test_auto_close_emails_customer_why_and_how_to_reopen(
    time_machine, mailoutbox, django_capture_on_commit_callbacks
):
    time_machine.move_to(NOW, tick=False)
    case = CaseFactory(pending_customer=True)
    time_machine.move_to(NOW + timedelta(days=14), tick=False)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.case_auto_close(case_id=case.pk) is not None

    email = only_email_to(mailoutbox, case.requester.email)
    assert len(mailoutbox) == 2  # and the engineer, below
    assert email.subject.startswith(f"[{case.reference}] Closed automatically:")
    for body in (email.body, html_of(email)):
        assert "Why: No reply for 14 days on Pending Customer." in body
        assert "Reopen Case" in body
        assert "full history" in body
        assert "A reply to this email is added to the case and reopens it." in body
    assert email.reply_to == [outbox.reply_address(case, case.requester)]

    to_engineer = only_email_to(mailoutbox, case.assignee.email)
    assert to_engineer.subject == f"[{case.reference}] Closed automatically: {case.subject}"
    for body in (to_engineer.body, html_of(to_engineer)):
        assert "assigned to you, has been closed automatically" in body
        assert "No reply for 14 days on Pending Customer" in body
        assert f"/admin/cases/case/{case.pk}/change/" in body
    assert to_engineer.reply_to == [outbox.reply_address(case, case.assignee)]


def test_customer_reopen_emails_customer_and_engineer_with_the_reason(
    frozen, mailoutbox, django_capture_on_commit_callbacks
):
    case = CaseFactory(closed=True)
    with django_capture_on_commit_callbacks(execute=True):
        services.case_reopen(case=case, actor=case.requester, message="It came back overnight.")

    to_customer = only_email_to(mailoutbox, case.requester.email)
    to_engineer = only_email_to(mailoutbox, case.assignee.email)
    assert len(mailoutbox) == 2
    assert to_customer.subject.startswith(f"[{case.reference}] Reopened:")
    assert "reopened with its full history" in to_customer.body
    assert to_engineer.subject.startswith(f"[{case.reference}] Customer reopened:")
    assert "It came back overnight." in to_engineer.body
    assert f"/admin/cases/case/{case.pk}/change/" in to_engineer.body


def test_customer_reply_on_resolved_case_reopens_and_tells_engineer_what_they_said(
    frozen, mailoutbox, django_capture_on_commit_callbacks
):
    case = CaseFactory(resolved=True)
    with django_capture_on_commit_callbacks(execute=True):
        services.case_reply(case=case, author=case.requester, body="Still failing.")

    to_engineer = only_email_to(mailoutbox, case.assignee.email)
    assert "Still failing." in to_engineer.body
    assert only_email_to(mailoutbox, case.requester.email).subject.startswith(
        f"[{case.reference}] Reopened:"
    )


# --- To the engineer ------------------------------------------------------------------


def test_customer_reply_on_pending_case_emails_assigned_engineer(
    frozen, mailoutbox, django_capture_on_commit_callbacks
):
    case = CaseFactory(pending_customer=True)
    with django_capture_on_commit_callbacks(execute=True):
        services.case_reply(case=case, author=case.requester, body="Logs attached.")

    email = only_email_to(mailoutbox, case.assignee.email)
    assert len(mailoutbox) == 1
    assert email.subject.startswith(f"[{case.reference}] Customer replied:")
    assert "Logs attached." in email.body
    assert "it is now In Progress" in email.body
    assert f"http://127.0.0.1:8000/admin/cases/case/{case.pk}/change/" in email.body
    assert email.reply_to == [outbox.reply_address(case, case.assignee)]


def test_customer_mark_resolved_emails_engineer_and_not_the_customer(
    frozen, mailoutbox, django_capture_on_commit_callbacks
):
    case = CaseFactory(in_progress=True)
    with django_capture_on_commit_callbacks(execute=True):
        services.case_mark_resolved(case=case, customer=case.requester)

    [email] = mailoutbox
    assert email.to == [case.assignee.email]
    assert email.subject.startswith(f"[{case.reference}] Customer marked resolved:")
    assert "closes by itself in 7 days" in email.body


def test_internal_note_emails_nobody(mailoutbox, django_capture_on_commit_callbacks):
    case = CaseFactory(in_progress=True)
    with django_capture_on_commit_callbacks(execute=True):
        services.case_add_internal_note(
            case=case, engineer=case.assignee, body="Customer is on 1.27"
        )

    assert mailoutbox == []
    assert not Notification.objects.exists()


def test_customer_closing_their_case_tells_the_engineer_only(
    mailoutbox, django_capture_on_commit_callbacks
):
    case = CaseFactory(in_progress=True, subject="VPN drops")
    with django_capture_on_commit_callbacks(execute=True):
        services.case_close(case=case, actor=case.requester)

    [email] = mailoutbox
    assert email.to == [case.assignee.email]
    assert email.subject == f"[{case.reference}] Customer closed: VPN drops"
    for body in (email.body, html_of(email)):
        assert f"closed case {case.reference} (it was In Progress)" in body
        assert f"/admin/cases/case/{case.pk}/change/" in body
    assert email.reply_to == [outbox.reply_address(case, case.assignee)]


# --- Exactly once ---------------------------------------------------------------------


def test_rolled_back_transition_queues_nothing_and_its_retry_queues_once(
    mailoutbox, django_capture_on_commit_callbacks
):
    case = CaseFactory(in_progress=True)

    class Interrupted(Exception):
        pass

    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(Interrupted),
        transaction.atomic(),
    ):
        services.case_resolve(case=case, engineer=case.assignee)
        raise Interrupted
    assert not Notification.objects.exists()
    assert mailoutbox == []

    with django_capture_on_commit_callbacks(execute=True):
        services.case_resolve(case=case, engineer=case.assignee)
    assert Notification.objects.count() == 1
    assert len(mailoutbox) == 1


def test_same_event_and_recipient_is_queued_once(django_capture_on_commit_callbacks):
    case = CaseFactory(in_progress=True)
    with django_capture_on_commit_callbacks(execute=False):
        services.case_resolve(case=case, engineer=case.assignee)
    row = Notification.objects.get()

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        again = outbox.queue(
            row.case, NotificationKind.RESOLVED, recipient=row.recipient, event=row.event
        )
    assert again is None
    assert callbacks == []
    assert Notification.objects.count() == 1


def test_sending_a_sent_notification_again_sends_nothing(
    mailoutbox, django_capture_on_commit_callbacks
):
    case = CaseFactory(in_progress=True)
    with django_capture_on_commit_callbacks(execute=True):
        services.case_resolve(case=case, engineer=case.assignee)
    row = Notification.objects.get()

    assert send_notification(row.pk) == "skipped"
    assert outbox.relay_unsent() == 0
    assert len(mailoutbox) == 1
    row.refresh_from_db()
    assert row.attempts == 1


def test_email_for_an_inactive_customer_is_not_queued(django_capture_on_commit_callbacks):
    case = CaseFactory(in_progress=True)
    case.requester.is_active = False
    case.requester.save()
    with django_capture_on_commit_callbacks(execute=True):
        services.case_resolve(case=case, engineer=case.assignee)
    assert not Notification.objects.exists()


def test_line_breaks_in_case_subject_do_not_break_the_email_header(
    mailoutbox, django_capture_on_commit_callbacks
):
    case = CaseFactory(in_progress=True, subject="Broken\r\nBcc: victim@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        services.case_resolve(case=case, engineer=case.assignee)
    [email] = mailoutbox
    assert email.subject.endswith("Broken Bcc: victim@example.com")
    assert Notification.objects.get().state == NotificationState.SENT


# --- Provider errors ------------------------------------------------------------------


def provider_error(status_code: int, reason: str) -> AnymailAPIError:
    """The error Anymail raises for an ESP's HTTP error response."""
    response = requests.Response()
    response.status_code = status_code
    response.reason = reason
    response._content = b'{"message": "%s"}' % reason.encode()
    return AnymailAPIError(
        f"ESP API response {status_code}", status_code=status_code, response=response
    )


class FlakyBackend(LocmemBackend):
    """Fails the next `failures` sends with `error`, then delivers."""

    failures = 0
    error: Exception = provider_error(503, "Service Unavailable")

    def send_messages(self, messages):
        if FlakyBackend.failures:
            FlakyBackend.failures -= 1
            raise FlakyBackend.error
        return super().send_messages(messages)


@pytest.fixture
def flaky_mailer(settings):
    settings.MAILERS = {"default": {"BACKEND": "tests.cases.test_notifications.FlakyBackend"}}
    error = FlakyBackend.error
    yield FlakyBackend
    FlakyBackend.failures = 0
    FlakyBackend.error = error


class TrackedBeforeReturnBackend(LocmemBackend):
    """The provider's delivery webhook lands while its API call is still returning."""

    def send_messages(self, messages):
        sent = super().send_messages(messages)
        for message in messages:
            row_id = message.metadata["notification_id"]
            Notification.objects.filter(pk=row_id).update(state=NotificationState.DELIVERED)
        return sent


@pytest.fixture
def queued_row(django_capture_on_commit_callbacks):
    case = CaseFactory(in_progress=True)
    with django_capture_on_commit_callbacks(execute=False):
        services.case_resolve(case=case, engineer=case.assignee)
    return Notification.objects.get()


def test_temporary_provider_error_reschedules_with_growing_jittered_backoff(
    frozen, flaky_mailer, queued_row, mailoutbox
):
    flaky_mailer.failures = 3
    delays = []
    for _ in range(3):
        result = outbox.deliver(queued_row.pk)
        assert result.outcome is Outcome.RETRY
        delays.append(result.retry_in)
        queued_row.refresh_from_db()
        assert queued_row.state == NotificationState.QUEUED
        assert queued_row.next_attempt_at == NOW + timedelta(seconds=result.retry_in)
        assert "503" in queued_row.last_error
    assert 15 <= delays[0] <= 30
    assert 30 <= delays[1] <= 60
    assert 60 <= delays[2] <= 120

    assert outbox.deliver(queued_row.pk).outcome is Outcome.SENT
    queued_row.refresh_from_db()
    assert queued_row.state == NotificationState.SENT
    assert queued_row.attempts == 4
    assert queued_row.last_error == ""
    assert len(mailoutbox) == 1


def test_backoff_is_jittered_and_capped_at_an_hour():
    assert len({outbox.backoff_seconds(3) for _ in range(20)}) > 1
    assert all(1800 <= outbox.backoff_seconds(30) <= 3600 for _ in range(20))


@pytest.mark.parametrize(
    "error",
    [
        AnymailRecipientsRefused("All recipients were rejected"),
        provider_error(422, "Unprocessable Entity"),
        provider_error(400, "Bad Request"),
    ],
    ids=["recipients-refused", "422", "400"],
)
def test_permanent_provider_error_marks_failed_without_retry(flaky_mailer, queued_row, error):
    flaky_mailer.failures = 1
    flaky_mailer.error = error

    assert outbox.deliver(queued_row.pk).outcome is Outcome.FAILED
    queued_row.refresh_from_db()
    assert queued_row.state == NotificationState.FAILED
    assert queued_row.attempts == 1
    assert type(error).__name__ in queued_row.last_error
    assert outbox.relay_unsent() == 0


@pytest.mark.parametrize("status_code", [429, 408, 500, 503])
def test_rate_limits_and_server_errors_are_temporary(status_code):
    assert not outbox.is_permanent(provider_error(status_code, "Temporary"))


def test_gives_up_after_the_last_attempt(flaky_mailer, queued_row):
    flaky_mailer.failures = outbox.MAX_ATTEMPTS
    outcomes = [outbox.deliver(queued_row.pk).outcome for _ in range(outbox.MAX_ATTEMPTS)]
    assert outcomes == [Outcome.RETRY] * (outbox.MAX_ATTEMPTS - 1) + [Outcome.FAILED]
    queued_row.refresh_from_db()
    assert queued_row.state == NotificationState.FAILED


# --- The relay ------------------------------------------------------------------------


def test_relay_sends_a_row_whose_task_was_lost(
    time_machine, queued_row, mailoutbox, django_capture_on_commit_callbacks
):
    time_machine.move_to(queued_row.next_attempt_at, tick=False)
    assert relay_notifications_task() == 0  # its own task may still be on the way
    time_machine.shift(outbox.relay_grace())

    assert relay_notifications_task() == 1  # eager here: the task runs inline
    queued_row.refresh_from_db()
    assert queued_row.state == NotificationState.SENT
    assert queued_row.possible_duplicate is False
    assert len(mailoutbox) == 1


def test_relay_and_stale_periods_follow_the_settings_in_force(time_machine, settings, queued_row):
    settings.NOTIFICATION_RELAY_GRACE_SECONDS = 5
    settings.NOTIFICATION_STALE_SENDING_SECONDS = 7
    time_machine.move_to(queued_row.next_attempt_at, tick=False)
    time_machine.shift(timedelta(seconds=5))

    assert outbox.relay_grace() == timedelta(seconds=5)
    assert outbox.stale_sending_after() == timedelta(seconds=7)
    assert outbox.relay_unsent() == 1


def test_relay_waits_for_the_backoff_of_a_retried_row(time_machine, flaky_mailer, queued_row):
    time_machine.move_to(NOW, tick=False)
    flaky_mailer.failures = 1
    retry_in = outbox.deliver(queued_row.pk).retry_in
    time_machine.shift(timedelta(seconds=retry_in) + outbox.relay_grace() - timedelta(seconds=1))
    assert outbox.relay_unsent() == 0
    time_machine.shift(timedelta(seconds=1))
    assert outbox.relay_unsent() == 1


class WorkerKilled(BaseException):
    """What a worker killed mid-send looks like from inside: nothing is recorded."""


def test_row_left_sending_by_a_dead_worker_is_resent_and_flagged(
    time_machine, flaky_mailer, queued_row, mailoutbox
):
    time_machine.move_to(NOW, tick=False)
    # A worker claimed the row, then died before recording the outcome.
    flaky_mailer.failures, flaky_mailer.error = 1, WorkerKilled()
    with pytest.raises(WorkerKilled):
        outbox.deliver(queued_row.pk)
    queued_row.refresh_from_db()
    assert queued_row.state == NotificationState.SENDING
    # Its task is redelivered at once: the row is still being sent, so it waits.
    assert outbox.deliver(queued_row.pk).outcome is Outcome.SKIPPED
    assert outbox.relay_unsent() == 0

    time_machine.shift(outbox.stale_sending_after())
    assert outbox.relay_unsent() == 1
    queued_row.refresh_from_db()
    assert queued_row.state == NotificationState.SENT
    assert queued_row.attempts == 2
    # Postmark and Mailgun take no idempotency key: the row says it may have gone twice.
    assert queued_row.possible_duplicate is True
    assert len(mailoutbox) == 1


def test_engineer_notifications_go_to_the_current_assignee(
    frozen, mailoutbox, django_capture_on_commit_callbacks
):
    case = CaseFactory(pending_customer=True)
    other = EngineerFactory()
    services.case_reassign(case=case, engineer=case.assignee, assignee=other)
    with django_capture_on_commit_callbacks(execute=True):
        services.case_reply(case=case, author=case.requester, body="Here you go.")
    [email] = mailoutbox
    assert email.to == [other.email]


def test_delivery_reported_before_the_send_returns_is_not_overwritten_by_sent(
    settings, queued_row, mailoutbox
):
    settings.MAILERS = {
        "default": {"BACKEND": "tests.cases.test_notifications.TrackedBeforeReturnBackend"}
    }

    outbox.deliver(queued_row.pk)

    queued_row.refresh_from_db()
    assert queued_row.state == NotificationState.DELIVERED
    assert queued_row.sent_at is not None
    assert len(mailoutbox) == 1
