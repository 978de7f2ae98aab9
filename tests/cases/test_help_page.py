"""The help page is rendered from the status definitions and the configured durations."""

import re

import pytest

from cases.models import STATUS_INFO

pytestmark = pytest.mark.django_db


def test_anyone_can_read_the_help_page(client):
    response = client.get("/help/case-statuses/")

    assert response.status_code == 200
    assert b"<h1>Understanding Case Statuses</h1>" in response.content


def test_every_status_is_explained_from_the_code_definitions(client):
    content = client.get("/help/case-statuses/").content.decode()

    for info in STATUS_INFO.values():
        row = content[content.index(f'data-status="{info.value}"') :].split("</tr>")[0]
        assert info.label in row and info.meaning in row and info.action in row


def test_closure_policy_follows_the_settings(client, settings):
    settings.CASE_PENDING_CUSTOMER_AUTO_CLOSE_DAYS = 21
    settings.CASE_RESOLVED_AUTO_CLOSE_DAYS = 1

    content = client.get("/help/case-statuses/").content.decode()

    pending_row = '<tr data-scenario="pending_customer"><td>No reply on Pending Customer</td>'
    assert f"{pending_row}<td>21 days</td></tr>" in content
    assert (
        '<tr data-scenario="resolved"><td>Resolved with no objection</td><td>1 day</td></tr>'
        in content
    )
    assert "receive no reply within 21 days are automatically closed" in content
    assert "14 days" not in content


def test_default_policy_is_14_and_7_days(client):
    content = client.get("/help/case-statuses/").content.decode()

    assert "<td>14 days</td>" in content and "<td>7 days</td>" in content
    assert "<td>Immediately</td>" in content


def test_help_page_links_to_my_cases_for_marking_resolved(client, customer):
    client.force_login(customer)

    content = client.get("/help/case-statuses/").content.decode()

    assert 'from the <a href="/cases/">My Cases</a> tab' in content
    assert "Reopen Case" in content


def test_pages_load_only_local_assets_under_the_content_security_policy(client):
    response = client.get("/help/case-statuses/")

    policy = response["Content-Security-Policy"]
    nonce = re.search(r"'nonce-([^']+)'", policy).group(1)
    assert "script-src 'self' 'nonce-" in policy
    content = response.content.decode()
    assert f'<script src="/static/js/htmx-2.0.10.min.js" nonce="{nonce}" defer>' in content
    assert re.findall(r'(?:src|href)="(?:https?:)?//', content) == []
    assert content.count('rel="stylesheet"') == 1
