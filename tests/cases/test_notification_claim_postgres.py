"""Claiming an outbox row locks only that row, which PostgreSQL allows with outer joins."""

import pytest

from cases import notifications
from cases.models import Notification, NotificationState
from tests import journeys

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def test_queued_notification_without_event_or_message_join_is_sent(customer, engineer, mailoutbox):
    case = journeys.pending_customer(customer, engineer)
    notification = Notification.objects.get(case=case)

    result = notifications.deliver(notification.pk)

    assert result.outcome is notifications.Outcome.SENT
    notification.refresh_from_db()
    assert notification.state == NotificationState.SENT
    assert [email.to for email in mailoutbox] == [[customer.email]]
