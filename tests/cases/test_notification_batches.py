"""Sending the outbox in batches: the same at-most-once rules as one row at a time."""

import pytest
from django.core import mail

from cases import outbox, services
from cases.models import Notification, NotificationKind, NotificationState
from cases.outbox import delivery
from cases.tasks import send_notifications_task
from tests.factories import CaseFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def anymail_test_backend(settings):
    settings.MAILERS = {
        "default": {"BACKEND": "anymail.backends.test.EmailBackend", "OPTIONS": {}}
    }
    mail.outbox = []


def resolved_notifications(engineer, n: int) -> list[Notification]:
    rows = []
    for _ in range(n):
        case = CaseFactory(in_progress=True, engineer=engineer)
        services.case_resolve(case=case, engineer=engineer)
        rows.append(Notification.objects.get(case=case, kind=NotificationKind.RESOLVED))
    return rows


def test_deliver_many_sends_each_queued_row_once(anymail_test_backend, engineer):
    rows = resolved_notifications(engineer, 3)
    outbox.deliver(rows[0].pk)  # already sent: skipped by the batch

    results = outbox.deliver_many([row.pk for row in rows])

    assert [r.notification_id for r in results] == [rows[1].pk, rows[2].pk]
    assert {r.outcome for r in results} == {outbox.Outcome.SENT}
    assert len(mail.outbox) == 3
    for row in rows:
        row.refresh_from_db()
        assert row.state == NotificationState.SENT and row.attempts == 1 and row.sent_at
    assert outbox.deliver_many([row.pk for row in rows]) == []


def test_a_failing_email_in_a_batch_is_queued_for_retry_alone(
    anymail_test_backend, engineer, monkeypatch
):
    rows = resolved_notifications(engineer, 2)
    real_build = outbox.build_email

    def build_failing_for_first(notification):
        if notification.pk == rows[0].pk:
            raise ConnectionError("provider unreachable")
        return real_build(notification)

    monkeypatch.setattr(delivery, "build_email", build_failing_for_first)

    results = outbox.deliver_many([row.pk for row in rows])

    assert [r.outcome for r in results] == [
        outbox.Outcome.RETRY,
        outbox.Outcome.SENT,
    ]
    rows[0].refresh_from_db()
    rows[1].refresh_from_db()
    assert (
        rows[0].state == NotificationState.QUEUED and "provider unreachable" in rows[0].last_error
    )
    assert rows[1].state == NotificationState.SENT


def test_the_batch_task_sends_and_counts(anymail_test_backend, engineer):
    rows = resolved_notifications(engineer, 2)

    assert send_notifications_task([row.pk for row in rows]) == 2
    assert len(mail.outbox) == 2


def test_a_tracking_state_reported_during_the_batch_is_kept(
    anymail_test_backend, engineer, monkeypatch
):
    (row,) = resolved_notifications(engineer, 1)
    real_build = outbox.build_email

    def build_and_track(notification):
        # The provider's webhook says "delivered" before the send call returns.
        Notification.objects.filter(pk=notification.pk).update(state=NotificationState.DELIVERED)
        return real_build(notification)

    monkeypatch.setattr(delivery, "build_email", build_and_track)

    outbox.deliver_many([row.pk])

    row.refresh_from_db()
    assert row.state == NotificationState.DELIVERED
    assert row.sent_at is not None
