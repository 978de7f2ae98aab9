"""Customer pages come from cache on a repeat visit, and never show a case as it was.

Every service that changes a case makes the pages showing it render afresh (see
cases.page_cache); these tests look at a page, change the case behind the customer's
back the way engineers, the sweep or email do, and look again.
"""

import logging
import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from cases import page_cache, services
from cases.models import Status
from tests.factories import CaseFactory, EngineerFactory, customer, days

pytestmark = pytest.mark.django_db


def main_part(response) -> bytes:
    """The page inside <main> (the header's sign-out form has a fresh token each time)."""
    content = response.content
    return content[content.index(b"<main") : content.index(b"</main>")]


def row_status(page: str, case) -> str:
    return re.search(rf'data-case-reference="{case.reference}" data-case-status="(\w+)"', page)[1]


def test_a_repeat_visit_to_my_cases_costs_only_the_session_and_user(client):
    user = customer()
    CaseFactory.create_batch(3, requester=user, open=True)
    client.force_login(user)
    first = client.get("/cases/")

    with CaptureQueriesContext(connection) as captured:
        again = client.get("/cases/")

    assert len(captured.captured_queries) == 2  # the user comes with their membership
    assert main_part(again) == main_part(first)


def test_a_repeat_visit_to_a_case_costs_only_the_session_user_and_case(client):
    case = CaseFactory(in_progress=True)
    client.force_login(case.requester)
    first = client.get(case.get_absolute_url())

    with CaptureQueriesContext(connection) as captured:
        again = client.get(case.get_absolute_url())

    assert len(captured.captured_queries) == 3
    assert main_part(again) == main_part(first)


def test_my_cases_shows_an_engineers_question_asked_after_the_last_visit(client):
    case = CaseFactory(in_progress=True)
    client.force_login(case.requester)
    assert row_status(client.get("/cases/").content.decode(), case) == Status.IN_PROGRESS

    services.case_request_info(
        case=case, engineer=case.assignee, message="Which version?", kind="logs"
    )

    page = client.get("/cases/").content.decode()
    assert row_status(page, case) == Status.PENDING_CUSTOMER
    assert 'Pending Customer <span class="count">1</span>' in page


def test_my_cases_shows_cases_the_sweep_closed_after_the_last_visit(client, time_machine):
    time_machine.move_to("2026-06-01 10:00:00+00:00", tick=False)
    user = customer()
    due = CaseFactory(requester=user, resolved=True)
    client.force_login(user)
    time_machine.shift(days(8))
    assert row_status(client.get("/cases/").content.decode(), due) == Status.RESOLVED
    client.get(due.get_absolute_url())

    services.close_stale_cases()

    assert row_status(client.get("/cases/?status=all").content.decode(), due) == Status.CLOSED
    page = client.get(due.get_absolute_url()).content.decode()
    assert "Case actions" in page and "Reopen Case" in page


def test_the_organisation_view_shows_a_case_a_colleague_opened_after_the_last_visit(client):
    watcher = customer(sees_organisation=True)
    colleague = customer(watcher.membership.organisation)
    client.force_login(watcher)
    assert b"Printer on fire" not in client.get("/cases/?scope=organisation").content

    services.case_open(
        requester=colleague, subject="Printer on fire", description="Smoke.", priority=2
    )

    assert b"Printer on fire" in client.get("/cases/?scope=organisation").content


def test_my_cases_shows_a_case_opened_by_email_after_the_last_visit(client):
    user = customer()
    client.force_login(user)
    assert b"Cannot log in" not in client.get("/cases/").content

    services.case_open(
        requester=user,
        subject="Cannot log in",
        description="Since this morning.",
        priority=3,
        source="email",
    )

    assert b"Cannot log in" in client.get("/cases/").content


def test_a_closed_case_page_shows_the_follow_up_opened_from_an_email_reply(client):
    """The follow-up writes a history entry on the closed case without touching its row."""
    closed = CaseFactory(closed=True)
    client.force_login(closed.requester)
    assert b"follow-up case" not in client.get(closed.get_absolute_url()).content

    follow_up = services.case_follow_up_by_email(
        closed_case=closed, author=closed.requester, body="It is back."
    )

    page = client.get(closed.get_absolute_url()).content.decode()
    assert f"follow-up case {follow_up.reference} opened" in page


def test_a_renamed_case_shows_its_new_subject_everywhere(client):
    case = CaseFactory(open=True, subject="Old words")
    client.force_login(case.requester)
    client.get("/cases/")
    client.get(case.get_absolute_url())

    services.case_update_details(
        case=case, engineer=case.assignee, subject="New words", priority=case.priority
    )

    assert b"New words" in client.get("/cases/").content
    assert b"New words" in client.get(case.get_absolute_url()).content


def test_a_page_rendered_while_a_change_commits_is_not_kept_after_it(
    django_capture_on_commit_callbacks,
):
    """A visit between the change and its commit reads the old rows: the generation it
    is cached under is dropped again when the change commits."""
    case = CaseFactory(open=True)
    before = page_cache.generation(customer_id=case.requester_id)

    with django_capture_on_commit_callbacks(execute=True):
        page_cache.forget_cases([case])
        during = page_cache.generation(customer_id=case.requester_id)

    after = page_cache.generation(customer_id=case.requester_id)
    assert len({before, during, after}) == 3


def test_a_case_the_customer_may_no_longer_see_is_not_served_from_cache(client):
    """Access is checked on every visit, before the cache is looked at."""
    colleague_case = CaseFactory(open=True)
    watcher = customer(colleague_case.organisation, sees_organisation=True)
    client.force_login(watcher)
    assert client.get(colleague_case.get_absolute_url()).status_code == 200

    watcher.membership.can_view_organisation_cases = False
    watcher.membership.save()

    assert client.get(colleague_case.get_absolute_url()).status_code == 404
    assert colleague_case.subject.encode() not in client.get("/cases/?scope=organisation").content


def test_another_session_of_the_same_customer_gets_forms_with_its_own_token():
    user = customer()
    case = CaseFactory(requester=user, in_progress=True)
    tokens = []
    for _ in range(2):
        browser = Client(enforce_csrf_checks=True)
        browser.force_login(user)
        page = browser.get("/cases/").content.decode()
        tokens.append(re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)[1])
        response = browser.post(
            f"/cases/{case.reference}/resolve/",
            {"csrfmiddlewaretoken": tokens[-1], "next": "/cases/"},
        )
        assert response.status_code == 302
        case.refresh_from_db()
        assert case.status == Status.RESOLVED
        services.case_reopen(case=case, actor=user, message="Not yet")
        case.refresh_from_db()
        services.case_start_work(case=case, engineer=case.assignee)


def test_pages_render_when_the_cache_server_is_down(client, settings, caplog):
    settings.CACHES = {
        "default": {
            "BACKEND": "portal.cache.ForgivingRedisCache",
            # Nothing listens on port 1.
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"socket_connect_timeout": 0.25, "socket_timeout": 0.25},
        }
    }
    case = CaseFactory(in_progress=True)
    client.force_login(case.requester)

    with caplog.at_level(logging.WARNING, logger="portal.cache"):
        listing = client.get("/cases/")
        detail = client.get(case.get_absolute_url())
        services.case_resolve(case=case, engineer=case.assignee)

    assert listing.status_code == detail.status_code == 200
    assert case.reference.encode() in listing.content
    assert "going on without the cache" in caplog.text


def test_a_new_deploy_never_serves_markup_rendered_by_the_previous_code(client, monkeypatch):
    case = CaseFactory(in_progress=True)
    client.force_login(case.requester)
    client.get("/cases/")

    monkeypatch.setattr(page_cache, "_CODE_TOKEN", "next-release")
    with CaptureQueriesContext(connection) as captured:
        client.get("/cases/")

    assert len(captured.captured_queries) > 2


def test_an_engineer_rename_shows_within_the_cache_lifetime(client, time_machine):
    time_machine.move_to("2026-06-01 10:00:00+00:00", tick=False)
    engineer = EngineerFactory(full_name="Ada Old")
    case = CaseFactory(pending_customer=True, engineer=engineer)
    client.force_login(case.requester)
    assert b"Ada Old" in client.get("/cases/").content

    engineer.full_name = "Ada New"
    engineer.save()
    time_machine.shift(page_cache.TIMEOUT + 1)

    assert b"Ada New" in client.get("/cases/").content
