"""Every time a person sees is in their own zone, and says which zone it is: portal pages,
the admin and the emails to them."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from cases import outbox
from cases.models import Case, Notification, NotificationKind
from cases.outbox import triggers
from cases.tasks import send_daily_digests_task
from portal import timefmt
from portal.models import Organisation
from tests.factories import CaseFactory, EngineerFactory, customer

pytestmark = pytest.mark.django_db

# 09:00 UTC: 10:00 in Paris (CET), 04:00 in New York (EST).
WINTER = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
# New York has moved to summer time (8 March), Paris not yet (29 March).
BETWEEN_CHANGES = datetime(2026, 3, 20, 9, 0, tzinfo=UTC)


@pytest.fixture
def paris_and_new_york():
    """Two people of one organisation who both see its cases, in their own zones."""
    organisation = Organisation.objects.create(name="Acme", time_zone="Europe/Paris")
    paris = customer(organisation, sees_organisation=True, time_zone="Europe/Paris")
    new_york = customer(organisation, sees_organisation=True, time_zone="America/New_York")
    return paris, new_york


def page(client, user, path: str) -> str:
    client.force_login(user)
    response = client.get(path)
    assert response.status_code == 200
    return response.content.decode()


def opened_at(moment, requester, **traits) -> Case:
    case = CaseFactory(requester=requester, **traits)
    Case.objects.filter(pk=case.pk).update(created_at=moment, last_activity_at=moment)
    return Case.objects.get(pk=case.pk)


def test_the_same_case_time_reads_in_each_persons_zone_on_the_case_page(
    client, paris_and_new_york
):
    paris, new_york = paris_and_new_york
    case = opened_at(WINTER, paris)

    in_paris = page(client, paris, case.get_absolute_url())
    in_new_york = page(client, new_york, case.get_absolute_url())

    assert "2 Mar 2026, 10:00 CET" in in_paris
    assert "2 Mar 2026, 04:00 EST" in in_new_york
    assert "EST" not in in_paris and "CET" not in in_new_york
    # The machine-readable time names the same moment with each offset.
    assert 'datetime="2026-03-02T10:00:00.000+01:00"' in in_paris
    assert 'datetime="2026-03-02T04:00:00.000-05:00"' in in_new_york


def test_the_same_case_time_reads_in_each_persons_zone_in_my_cases(client, paris_and_new_york):
    paris, new_york = paris_and_new_york
    opened_at(WINTER, paris)

    assert "Updated <time datetime=" in page(client, paris, "/cases/")
    assert "2 Mar 2026, 10:00 CET" in page(client, paris, "/cases/")
    assert "2 Mar 2026, 04:00 EST" in page(client, new_york, "/cases/?scope=organisation")


def test_times_follow_each_zone_across_its_clock_change(client, time_machine, paris_and_new_york):
    """Between the two changes of spring 2026 New York is on summer time, Paris is not;
    a deadline after Paris's change is shown in Paris's summer time."""
    paris, new_york = paris_and_new_york
    time_machine.move_to(BETWEEN_CHANGES, tick=False)
    case = opened_at(BETWEEN_CHANGES, paris, pending_customer=True)
    closes = case.auto_close_at  # 14 days later: 3 April, after Paris's change

    in_paris = page(client, paris, case.get_absolute_url())
    in_new_york = page(client, new_york, case.get_absolute_url())

    assert closes == BETWEEN_CHANGES + timedelta(days=14)
    assert "20 Mar 2026, 10:00 CET" in in_paris
    assert "3 Apr 2026, 11:00 CEST" in in_paris
    assert "20 Mar 2026, 05:00 EDT" in in_new_york
    assert "3 Apr 2026, 05:00 EDT" in in_new_york


def email_to(recipient, case: Case, kind=NotificationKind.PENDING_CUSTOMER):
    notification = Notification.objects.create(
        case=case,
        kind=kind,
        recipient=recipient,
        to_email=recipient.email,
        subject=triggers._subject(case, kind),
        dedupe_key=f"test:{case.pk}:{kind}:{recipient.pk}",
        event=case.events.order_by("pk").last(),
    )
    return outbox.build_email(notification)


def test_an_email_states_times_in_its_recipients_zone(time_machine, paris_and_new_york):
    paris, new_york = paris_and_new_york
    time_machine.move_to(BETWEEN_CHANGES, tick=False)
    case = opened_at(BETWEEN_CHANGES, paris, pending_customer=True)

    to_paris = email_to(paris, case, NotificationKind.REMINDER)
    to_new_york = email_to(new_york, case, NotificationKind.REMINDER)

    for body in (to_paris.body, to_paris.alternatives[0][0]):
        assert "3 April 2026, 11:00 CEST" in body
    for body in (to_new_york.body, to_new_york.alternatives[0][0]):
        assert "3 April 2026, 05:00 EDT" in body
    # Built inside the recipient's zone only: nothing leaks to what runs next.
    assert timezone.get_current_timezone_name() == "UTC"


def test_an_address_that_is_nobodys_login_reads_the_portals_zone(settings, time_machine):
    settings.TIME_ZONE = "UTC"
    time_machine.move_to(BETWEEN_CHANGES, tick=False)
    case = opened_at(BETWEEN_CHANGES, customer(time_zone="Asia/Tokyo"), pending_customer=True)
    notification = Notification.objects.create(
        case=case,
        kind=NotificationKind.REMINDER,
        recipient=None,
        to_email="oncall@example.com",
        subject="x",
        dedupe_key="oncall",
    )

    assert "3 April 2026, 09:00 UTC" in outbox.build_email(notification).body


def test_the_repeated_hour_of_a_clock_change_names_its_zone_in_emails():
    paris = ZoneInfo("Europe/Paris")
    first = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)

    assert timefmt.display_long(first, paris) == "25 October 2026, 02:30 CEST"
    assert timefmt.display_long(first + timedelta(hours=1), paris) == "25 October 2026, 02:30 CET"


def test_without_a_zone_of_their_own_a_person_reads_their_organisations(client):
    organisation = Organisation.objects.create(name="Mumbai Ltd", time_zone="Asia/Kolkata")
    member = customer(organisation)
    case = opened_at(WINTER, member)

    assert member.time_zone == ""
    assert "2 Mar 2026, 14:30 IST" in page(client, member, case.get_absolute_url())


def test_without_any_zone_a_person_reads_the_portals(client, settings):
    settings.TIME_ZONE = "UTC"
    member = customer()
    case = opened_at(WINTER, member)

    assert "2 Mar 2026, 09:00 UTC" in page(client, member, case.get_absolute_url())


def test_a_visitor_after_a_signed_in_request_reads_the_portals_zone(client, paris_and_new_york):
    paris, _ = paris_and_new_york
    page(client, paris, "/cases/")
    client.logout()

    assert timezone.get_current_timezone_name() == "UTC"
    response = client.get("/help/case-statuses/")
    assert response.status_code == 200


def test_the_admin_shows_times_in_the_engineers_zone(client):
    engineer = EngineerFactory(time_zone="Asia/Tokyo")
    case = opened_at(WINTER, customer(), open=True, engineer=engineer)

    content = page(client, engineer, f"/admin/cases/case/{case.pk}/change/")

    # Django's own rendering of the Clocks fields (Created), and the workbench's.
    assert "2 Mar 2026, 18:00 JST" in content
    assert "2 Mar 2026, 09:00 UTC" not in content


def test_the_admin_case_list_reads_in_the_engineers_zone(client):
    engineer = EngineerFactory(time_zone="America/New_York")
    case = opened_at(WINTER, customer(), pending_customer=True, engineer=engineer)
    Case.objects.filter(pk=case.pk).update(pending_since=WINTER)

    content = page(client, engineer, "/admin/cases/case/")

    assert "16 Mar 2026, 05:00 EDT" in content  # closes automatically, 14 days on


def test_the_zone_costs_no_query_of_its_own(client):
    organisation = Organisation.objects.create(name="Zoned", time_zone="Asia/Kolkata")
    member = customer(organisation)
    client.force_login(member)

    with CaptureQueriesContext(connection) as captured:
        response = client.get("/accounts/ping/")

    assert response.status_code == 200
    assert len(captured.captured_queries) == 2  # the session, the user with membership
    assert "portal_organisation" in captured.captured_queries[1]["sql"]


def test_a_digest_names_the_day_where_its_engineer_is(time_machine, mailoutbox):
    """At 23:30 UTC on 2 March it is already 3 March in Tokyo."""
    time_machine.move_to(datetime(2026, 3, 2, 23, 30, tzinfo=UTC), tick=False)
    tokyo = EngineerFactory(time_zone="Asia/Tokyo")
    london = EngineerFactory(time_zone="Europe/London")
    CaseFactory()  # waits unassigned

    send_daily_digests_task()

    subjects = {n.recipient_id: n.subject for n in Notification.objects.all()}
    assert subjects[tokyo.pk].startswith("Open cases on 3 March 2026:")
    assert subjects[london.pk].startswith("Open cases on 2 March 2026:")
