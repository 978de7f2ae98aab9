"""Delivering an outbox row on PostgreSQL: the row lock must not reach its outer joins."""

import pytest
from django.core import mail

from cases import outbox, services
from cases.models import Notification, NotificationKind, NotificationState
from tests.factories import CaseFactory

pytestmark = pytest.mark.django_db


def test_deliver_sends_a_row_without_message_and_marks_it_sent(settings, engineer):
    settings.MAILERS = {
        "default": {"BACKEND": "anymail.backends.test.EmailBackend", "OPTIONS": {}}
    }
    case = CaseFactory(in_progress=True, engineer=engineer)
    services.case_resolve(case=case, engineer=engineer)
    notification = Notification.objects.get(case=case, kind=NotificationKind.RESOLVED)
    assert notification.message_id is None
    mail.outbox = []

    mail.outbox.append("an email sent earlier")  # the test backend's next id is 1, a number

    result = outbox.deliver(notification.pk)

    assert result.outcome is outbox.Outcome.SENT
    notification.refresh_from_db()
    assert notification.state == NotificationState.SENT
    assert notification.provider_message_id == "1"
    assert [email.to for email in mail.outbox[1:]] == [[case.requester.email]]
