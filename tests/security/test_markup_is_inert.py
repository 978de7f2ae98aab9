"""Script and HTML typed by customers and engineers render as text everywhere: the
portal's pages, the admin's case pages and the emails."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from cases import outbox, services
from cases.models import Notification

pytestmark = pytest.mark.django_db

SUBJECT = '<script>alert("subject")</script>'
BODY = "<img src=x onerror=alert('body')><b>bold?</b>"
FILENAME = '"><svg onload=alert(1)>.txt'
RAW = ("<script>alert", "<img src=x", "<svg onload", "<b>bold")


@pytest.fixture
def hostile_case(customer, engineer):
    case = services.case_open(
        requester=customer,
        subject=SUBJECT,
        description=BODY,
        priority=3,
        attachments=[SimpleUploadedFile(FILENAME, b"plain text")],
    )
    services.case_assign(case=case, engineer=engineer)
    services.case_request_info(case=case, engineer=engineer, message=BODY, kind="logs")
    services.case_reply(case=case, author=customer, body=BODY)
    services.case_resolve(case=case, engineer=engineer, message=BODY)
    return case


def assert_inert(html: str, where: str) -> None:
    for raw in RAW:
        assert raw not in html, f"{raw!r} rendered live in {where}"
    assert "&lt;script&gt;" in html or "&lt;img" in html, f"payload missing from {where}"


def test_portal_pages_escape_everything(client, customer, hostile_case):
    client.force_login(customer)
    for path in ("/cases/", hostile_case.get_absolute_url(), "/cases/?q=<script>"):
        response = client.get(path)
        assert response.status_code == 200
        assert_inert(response.content.decode(), path)


def test_admin_case_pages_escape_everything(engineer, hostile_case):
    client = Client()
    client.force_login(engineer)
    for path in (
        "/admin/cases/case/",
        f"/admin/cases/case/{hostile_case.pk}/change/",
        "/admin/cases/case/?q=%3Cscript%3E",
    ):
        response = client.get(path)
        assert response.status_code == 200, path
        assert_inert(response.content.decode(), path)


def test_emails_escape_everything(hostile_case):
    rows = Notification.objects.filter(case=hostile_case)
    assert {row.kind for row in rows} >= {"pending_customer", "resolved", "customer_replied"}
    for row in rows:
        email = outbox.build_email(row)
        html = next(content for content, kind in email.alternatives if kind == "text/html")
        assert_inert(html, f"the {row.kind} email")
        assert "\n" not in email.subject and "\r" not in email.subject


def test_attachment_name_is_cleaned_before_it_is_stored_or_shown(client, customer, hostile_case):
    attachment = hostile_case.messages.first().attachments.get()
    assert "<" not in attachment.filename and '"' not in attachment.filename
    client.force_login(customer)
    response = client.get(f"{hostile_case.get_absolute_url()}attachments/{attachment.pk}/")
    assert response["Content-Disposition"].startswith("attachment;")
    assert "<" not in response["Content-Disposition"]
    assert response["X-Content-Type-Options"] == "nosniff"
