"""Delivery tracking through Anymail's tracking webhooks updates the outbox rows.

A bounced Pending Customer question holds the case's clock: the sweep does not close a
case "for lack of a reply" when the customer never got the question.
"""

from __future__ import annotations

import pytest
from django.utils import timezone

from cases import outbox, services
from cases.models import Case, Notification, NotificationKind, NotificationState, Status
from tests.cases import email_webhooks as hooks
from tests.factories import CaseFactory, EngineerFactory, days

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("email_webhooks")]

PROVIDER_ID = "0a129aee-e1cd-480d-b08d-4f48548ff48d"
MAILGUN_ID = "<20261128091500.1.ABCDEF0123456789@mg.example.com>"


@pytest.fixture
def start(time_machine):
    now = timezone.now().replace(microsecond=0)
    time_machine.move_to(now, tick=False)
    return now


def ask(case: Case | None = None) -> Notification:
    """An engineer asks; the question email is sent (the provider gave it an id)."""
    engineer = EngineerFactory()
    case = case or CaseFactory(in_progress=True, engineer=engineer)
    services.case_request_info(case=case, engineer=engineer, message="Send logs.", kind="logs")
    question = case.notifications.get(kind=NotificationKind.PENDING_CUSTOMER)
    Notification.objects.filter(pk=question.pk).update(
        state=NotificationState.SENT, provider_message_id=PROVIDER_ID, sent_at=timezone.now()
    )
    question.refresh_from_db()
    return question


def postmark_about(notification: Notification, build=hooks.postmark_delivery, **fields) -> dict:
    """A Postmark event (`build`: delivery, bounce, complaint) about the email sent."""
    return build(
        **{
            "notification_id": notification.pk,
            "email": notification.to_email,
            "message_id": PROVIDER_ID,
            **fields,
        }
    )


def mailgun_about(notification: Notification, event: str, **fields) -> dict:
    """A signed Mailgun event about the email sent."""
    return hooks.mailgun_event(
        **{
            "event": event,
            "message_id": PROVIDER_ID,
            "recipient": notification.to_email,
            "notification_id": notification.pk,
            **fields,
        }
    )


def test_postmark_delivery_marks_notification_delivered(client, start):
    question = ask()

    assert hooks.post_postmark_tracking(client, postmark_about(question)).status_code == 200

    assert hooks.refreshed(question).state == NotificationState.DELIVERED


def test_event_without_metadata_is_matched_by_provider_message_id(client, start):
    question = ask()
    payload = postmark_about(question, notification_id=None)

    assert hooks.post_postmark_tracking(client, payload).status_code == 200

    assert hooks.refreshed(question).state == NotificationState.DELIVERED


def test_mailgun_delivered_event_is_matched_by_message_id(client, start):
    question = ask()
    Notification.objects.filter(pk=question.pk).update(provider_message_id=MAILGUN_ID)
    payload = mailgun_about(question, "delivered", message_id=MAILGUN_ID, notification_id=None)

    assert hooks.post_mailgun_tracking(client, payload).status_code == 200

    assert hooks.refreshed(question).state == NotificationState.DELIVERED


def test_bounced_question_holds_the_case_and_the_sweep_leaves_it_open(client, start, time_machine):
    question = ask()
    payload = postmark_about(question, hooks.postmark_bounce)

    assert hooks.post_postmark_tracking(client, payload).status_code == 200

    assert hooks.refreshed(question).state == NotificationState.BOUNCED
    assert "550 5.1.1" in question.last_error
    case = Case.objects.get(pk=question.case_id)
    assert case.status == Status.PENDING_CUSTOMER
    assert "bounced" in case.auto_close_held_reason
    assert question.to_email in case.auto_close_held_reason

    time_machine.shift(days(15))
    closed = services.close_stale_cases()

    assert closed == []
    case.refresh_from_db()
    assert case.status == Status.PENDING_CUSTOMER


def test_without_a_bounce_the_same_case_closes_after_14_days(client, start, time_machine):
    """The control for the test above: delivered questions run their clock."""
    question = ask()
    hooks.post_postmark_tracking(client, postmark_about(question))

    time_machine.shift(days(14))
    services.close_stale_cases()

    case = Case.objects.get(pk=question.case_id)
    assert case.status == Status.CLOSED
    assert case.auto_close_held_reason == ""


def test_mailgun_permanent_failure_of_a_reminder_holds_the_case(client, start):
    question = ask()
    case = question.case
    outbox.queue_reminder(case, days_before=7, recipient=case.requester)
    reminder = case.notifications.get(kind=NotificationKind.REMINDER)
    Notification.objects.filter(pk=reminder.pk).update(
        state=NotificationState.SENT, provider_message_id=MAILGUN_ID
    )
    payload = mailgun_about(reminder, "failed", message_id=MAILGUN_ID)

    assert hooks.post_mailgun_tracking(client, payload).status_code == 200

    reminder.refresh_from_db()
    case.refresh_from_db()
    assert reminder.state == NotificationState.BOUNCED
    assert case.auto_close_held_reason


def test_mailgun_temporary_failure_changes_nothing(client, start):
    question = ask()
    payload = mailgun_about(question, "failed", severity="temporary")

    assert hooks.post_mailgun_tracking(client, payload).status_code == 200

    assert hooks.refreshed(question).state == NotificationState.SENT
    assert Case.objects.get(pk=question.case_id).auto_close_held_reason == ""


def test_mailgun_rejected_question_holds_the_case(client, start):
    question = ask()
    payload = mailgun_about(question, "rejected")

    assert hooks.post_mailgun_tracking(client, payload).status_code == 200

    assert hooks.refreshed(question).state == NotificationState.REJECTED
    assert "was rejected" in Case.objects.get(pk=question.case_id).auto_close_held_reason


def test_complaint_is_recorded(client, start):
    question = ask()
    payload = postmark_about(question, hooks.postmark_complaint)

    assert hooks.post_postmark_tracking(client, payload).status_code == 200

    assert hooks.refreshed(question).state == NotificationState.COMPLAINED


def test_late_delivery_event_does_not_hide_a_bounce(client, start):
    question = ask()
    bounce = postmark_about(question, hooks.postmark_bounce)
    delivery = postmark_about(question)

    hooks.post_postmark_tracking(client, bounce)
    hooks.post_postmark_tracking(client, delivery)
    hooks.post_postmark_tracking(client, bounce)  # the provider retries

    assert hooks.refreshed(question).state == NotificationState.BOUNCED


def test_bounce_of_a_non_question_email_holds_nothing(client, start):
    engineer = EngineerFactory()
    case = CaseFactory(in_progress=True, engineer=engineer)
    services.case_resolve(case=case, engineer=engineer)
    resolved_email = case.notifications.get(kind=NotificationKind.RESOLVED)
    payload = postmark_about(resolved_email, hooks.postmark_bounce, message_id="x")

    assert hooks.post_postmark_tracking(client, payload).status_code == 200

    resolved_email.refresh_from_db()
    case.refresh_from_db()
    assert resolved_email.state == NotificationState.BOUNCED
    assert (case.status, case.auto_close_held_reason) == (Status.RESOLVED, "")


def test_bounce_of_an_earlier_question_does_not_hold_the_current_clock(
    client, start, time_machine
):
    engineer = EngineerFactory()
    case = CaseFactory(in_progress=True, engineer=engineer)
    first_question = ask(case)
    services.case_reply(case=case, author=case.requester, body="Here you go.")
    time_machine.shift(days(1))
    services.case_request_info(case=case, engineer=engineer, message="One more.", kind="steps")
    payload = postmark_about(first_question, hooks.postmark_bounce)

    assert hooks.post_postmark_tracking(client, payload).status_code == 200

    case.refresh_from_db()
    assert case.status == Status.PENDING_CUSTOMER
    assert case.auto_close_held_reason == ""


def test_event_for_an_unknown_message_is_accepted_and_ignored(client, start):
    question = ask()
    payload = hooks.postmark_delivery(
        notification_id=None, email="someone@example.com", message_id="not-ours"
    )

    assert hooks.post_postmark_tracking(client, payload).status_code == 200

    assert hooks.refreshed(question).state == NotificationState.SENT


def test_forged_tracking_posts_get_400_and_change_nothing(client, start):
    question = ask()
    bounce = postmark_about(question, hooks.postmark_bounce)
    mailgun_forged = mailgun_about(question, "failed", signing_key="not-the-key")

    wrong_auth = hooks.post_postmark_tracking(
        client, bounce, auth=hooks.basic_auth("anymail:guess")
    )
    no_auth = hooks.post_postmark_tracking(client, bounce, auth={})
    bad_signature = hooks.post_mailgun_tracking(client, mailgun_forged)

    assert (wrong_auth.status_code, no_auth.status_code, bad_signature.status_code) == (
        400,
        400,
        400,
    )
    assert hooks.refreshed(question).state == NotificationState.SENT
    assert Case.objects.get(pk=question.case_id).auto_close_held_reason == ""
