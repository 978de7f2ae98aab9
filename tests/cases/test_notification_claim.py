"""A worker claims an outbox row under a row lock before sending it."""

import pytest

from cases import services
from cases.models import Notification, NotificationState
from cases.tasks import send_notification
from tests.factories import CaseFactory, EngineerFactory


@pytest.mark.django_db
def test_notification_with_a_message_is_claimed_and_sent(mailoutbox):
    """The claim joins the optional message and event; only the outbox row is locked."""
    case = CaseFactory(in_progress=True)
    services.case_request_info(
        case=case, engineer=EngineerFactory(), message="Send the logs.", kind="logs"
    )
    notification = Notification.objects.get(case=case)
    assert notification.message is not None

    send_notification(notification.pk)

    notification.refresh_from_db()
    assert notification.state == NotificationState.SENT
    assert [mail.to for mail in mailoutbox] == [[case.requester.email]]
