"""What pages say about a case: its status read aloud, times with their zone, why it closed."""

import re
from datetime import datetime, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from cases import services
from cases.models import Case
from portal import timefmt
from tests.factories import CaseFactory, EngineerFactory, MessageFactory

pytestmark = pytest.mark.django_db

TIME = re.compile(r'<time datetime="([^"]+)">([^<]+)</time>')


def page(client, user, path: str) -> str:
    client.force_login(user)
    response = client.get(path)
    assert response.status_code == 200
    return response.content.decode()


def test_status_badge_is_announced_with_its_label(client):
    case = CaseFactory(pending_customer=True)

    content = page(client, case.requester, case.get_absolute_url())
    listing = page(client, case.requester, "/cases/")

    badge = (
        '<span class="visually-hidden">Status:</span> <span class="badge badge-pending_customer"'
        ' data-case-status="pending_customer">Pending Customer</span>'
    )
    assert badge in content
    assert badge in listing


def test_every_time_shown_says_its_zone_and_keeps_at_most_milliseconds(client, settings):
    settings.TIME_ZONE = "Europe/Paris"
    moment = datetime(2026, 7, 1, 12, 5, 30, 123456, tzinfo=timezone.UTC)
    case = CaseFactory(pending_customer=True, created_at=moment, pending_since=moment)
    MessageFactory(case=case, created_at=moment)

    for content in (
        page(client, case.requester, case.get_absolute_url()),
        page(client, case.requester, "/cases/"),
    ):
        times = TIME.findall(content)
        assert times
        for machine, shown in times:
            assert re.fullmatch(
                r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,3})?[+-]\d\d:\d\d", machine
            )
            assert re.fullmatch(r"\d{1,2} \w{3} \d{4}, \d\d:\d\d CES?T", shown), shown
    assert '<time datetime="2026-07-01T14:05:30.123+02:00">1 Jul 2026, 14:05 CEST</time>' in (
        page(client, case.requester, case.get_absolute_url())
    )


def test_the_admin_shows_times_as_the_portal_does(client):
    engineer = EngineerFactory()
    moment = datetime(2026, 7, 1, 15, 5, tzinfo=timezone.UTC)
    case = CaseFactory(open=True, engineer=engineer, created_at=moment)
    MessageFactory(case=case, created_at=moment, body="Hello from the customer")

    content = page(client, engineer, f"/admin/cases/case/{case.pk}/change/")

    assert "1 Jul 2026, 15:05 UTC" in content
    assert "p.m." not in content
    assert timefmt.display(moment) == "1 Jul 2026, 15:05 UTC"


def test_a_case_closed_for_no_reply_says_so_on_its_page(client, settings):
    settings.CASE_PENDING_CUSTOMER_AUTO_CLOSE_DAYS = 14
    case = CaseFactory(pending_customer=True, pending_since=timezone.now() - timedelta(days=15))
    services.close_stale_cases()

    content = page(client, case.requester, case.get_absolute_url())

    assert Case.objects.get(pk=case.pk).closed_for_no_reply
    assert re.search(r"Closed</span>\s+Closed: no reply within 14 days\.", content)
    assert "archived after resolution" not in content


def test_a_case_closed_otherwise_keeps_the_spec_meaning_and_reopening_forgets_why(client):
    case = CaseFactory(pending_customer=True, pending_since=timezone.now() - timedelta(days=15))
    services.close_stale_cases()
    case = services.case_reopen(case=Case.objects.get(pk=case.pk), actor=case.requester)
    case = services.case_close(case=case, actor=case.requester)

    content = page(client, case.requester, case.get_absolute_url())

    assert not case.closed_for_no_reply
    assert "Case archived after resolution." in content


def test_a_refused_reply_keeps_the_text_and_sums_up_the_errors_with_links(client, settings):
    settings.ATTACHMENT_MAX_BYTES = 10
    case = CaseFactory(pending_customer=True)
    client.force_login(case.requester)

    response = client.post(
        f"{case.get_absolute_url()}reply/",
        {"body": "Here is the log", "attachments": SimpleUploadedFile("big.log", b"x" * 50)},
    )

    content = response.content.decode()
    assert response.status_code == 400
    assert "<title>Error: " in content
    summary = re.search(r'<div class="error-summary".*?</div>', content, re.S)[0]
    assert 'role="alert"' in summary and "autofocus" in summary
    assert '<a href="#id_attachments">Attachments: ' in summary
    assert re.search(r">\s*Here is the log</textarea>", content)
    field = re.search(r'<input type="file" name="attachments"[^>]*>', content)[0]
    assert 'aria-invalid="true"' in field
    assert 'aria-describedby="id_attachments_helptext id_attachments_error"' in field
    assert 'id="id_attachments_error"' in content


def test_an_empty_reply_is_refused_with_the_summary_pointing_at_the_reply_box(client):
    case = CaseFactory(open=True)
    client.force_login(case.requester)

    content = client.post(f"{case.get_absolute_url()}reply/", {"body": "  "}).content.decode()

    assert '<a href="#id_body">Your reply: Please write a reply.</a>' in content
    assert re.search(r'<textarea[^>]*aria-invalid="true"[^>]*id="id_body"', content)


def test_a_refused_new_case_sums_up_the_errors_and_keeps_the_text(client, customer):
    client.force_login(customer)

    response = client.post(
        "/cases/new/", {"subject": "", "description": "It broke", "priority": 3}
    )

    content = response.content.decode()
    assert "<title>Error: Open a case · Support Portal</title>" in content
    assert '<a href="#id_subject">Subject: This field is required.</a>' in content
    assert re.search(r">\s*It broke</textarea>", content)
