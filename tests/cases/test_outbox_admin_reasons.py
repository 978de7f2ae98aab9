"""The admin says why an email was not sent, and what a person turned off and where
their times are shown."""

from datetime import UTC, datetime

import pytest

from cases import outbox
from cases.models import Notification, NotificationKind
from cases.outbox import triggers
from portal import email_preferences
from portal.models import EmailOptOut, EmailTopic, Organisation
from tests.factories import CaseFactory, EngineerFactory, customer

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen(time_machine):
    time_machine.move_to(NOW, tick=False)


def cancelled_reminder(case) -> Notification:
    """A reminder its recipient turned off before it went out."""
    notification = Notification.objects.create(
        case=case,
        kind=NotificationKind.REMINDER,
        recipient=case.requester,
        to_email=case.requester.email,
        subject=triggers._subject(case, NotificationKind.REMINDER),
        dedupe_key="test:reminder",
        clock_started_at=case.pending_since,
        reminder_days_before=1,
    )
    email_preferences.turn_off(case.requester, EmailTopic.REMINDERS, source="profile")
    outbox.deliver(notification.pk)
    notification.refresh_from_db()
    return notification


def test_the_outbox_list_and_the_case_page_say_why_an_email_was_not_sent(client):
    case = CaseFactory(pending_customer=True)
    reason = cancelled_reminder(case).last_error
    engineer = EngineerFactory()
    client.force_login(engineer)

    listing = client.get("/admin/cases/notification/").content.decode()
    case_page = client.get(f"/admin/cases/case/{case.pk}/change/").content.decode()

    assert "<strong>Cancelled</strong>" in listing
    assert f'<span class="notification-reason">{reason.replace("'", "&#x27;")}</span>' in (listing)
    assert "Why not sent, or last error" in case_page
    assert 'class="wb-notification-cancelled"' in case_page
    assert reason.replace("'", "&#x27;") in case_page


def test_the_user_page_shows_the_zone_and_the_emails_turned_off(client):
    organisation = Organisation.objects.create(name="Acme", time_zone="Europe/Paris")
    member = customer(organisation)
    email_preferences.turn_off(member, EmailTopic.REMINDERS, source="link")
    client.force_login(EngineerFactory())

    content = client.get(f"/admin/portal/user/{member.pk}/change/").content.decode()
    listing = client.get("/admin/portal/user/").content.decode()

    assert "Europe/Paris (the organisation&#x27;s)" in content
    assert "Emails turned off" in content
    assert "Reminders before a case closes by itself" in content
    assert "from an email, with its unsubscribe link" in content
    assert "Europe/Paris (the organisation&#x27;s)" in listing
    assert EmailOptOut.objects.count() == 1
