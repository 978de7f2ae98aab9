"""Delivery on PostgreSQL: claiming locks only the outbox row; every failure leaves it
retryable."""

import pytest

from cases import outbox
from cases.models import Notification, NotificationKind, NotificationState
from tests import journeys

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def test_queued_notification_without_event_or_message_join_is_sent(customer, engineer, mailoutbox):
    case = journeys.pending_customer(customer, engineer)
    notification = Notification.objects.get(case=case, kind=NotificationKind.PENDING_CUSTOMER)

    result = outbox.deliver(notification.pk)

    assert result.outcome is outbox.Outcome.SENT
    notification.refresh_from_db()
    assert notification.state == NotificationState.SENT
    assert [email.to for email in mailoutbox] == [[customer.email]]


class UnprintableProviderError(Exception):
    def __str__(self) -> str:
        raise AttributeError("'NoneType' object has no attribute 'reason'")


def test_error_that_cannot_be_described_still_leaves_the_row_retryable(
    customer, engineer, monkeypatch
):
    case = journeys.pending_customer(customer, engineer)
    notification = Notification.objects.get(case=case, kind=NotificationKind.PENDING_CUSTOMER)

    def fail(self, *args, **kwargs):
        raise UnprintableProviderError("provider said no")

    monkeypatch.setattr("django.core.mail.EmailMultiAlternatives.send", fail)
    result = outbox.deliver(notification.pk)

    assert result.outcome is outbox.Outcome.RETRY
    notification.refresh_from_db()
    assert notification.state == NotificationState.QUEUED
    assert notification.last_error.startswith("UnprintableProviderError: ")
    assert "provider said no" in notification.last_error
