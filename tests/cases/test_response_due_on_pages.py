"""What a customer reads of the running response target: on the case page ("We aim to
reply by …") and on the rows of My Cases ("Reply by …"), each with `data-response-due`."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cases import services
from cases.models import Case, Plan, PlanTarget, Priority, ResponseTarget, TargetOutcome
from tests.factories import (
    CaseFactory,
    EngineerFactory,
    OrganisationFactory,
    customer,
    running_target,
)

pytestmark = pytest.mark.django_db

PARIS = ZoneInfo("Europe/Paris")
PLANS = "/help/plan-comparison/"


def paris(*args) -> datetime:
    return datetime(*args, tzinfo=PARIS)


@pytest.fixture(autouse=True)
def seeded_policy(db, settings):
    """The policy migration 0017 seeds (a flush by a transactional test empties it), and
    the portal showing times in Paris."""
    from importlib import import_module

    from django.apps import apps

    import_module("cases.migrations.0017_seed_service_levels").seed(apps, None)
    settings.TIME_ZONE = "Europe/Paris"


@pytest.fixture
def at(time_machine):
    def move(moment: datetime) -> datetime:
        time_machine.move_to(moment, tick=False)
        return moment

    return move


@pytest.fixture
def requester(db):
    """A customer of an organisation in Paris on the Business plan (P2: 4 business hours)."""
    organisation = OrganisationFactory(
        name="Acme Paris",
        plan=Plan.objects.get(name="Business"),
        time_zone="Europe/Paris",
        holiday_country="FR",
    )
    return customer(organisation)


@pytest.fixture
def engineer(db):
    return EngineerFactory()


def open_case(requester, priority=Priority.P2, subject="Dashboard slow") -> Case:
    return services.case_open(
        requester=requester, subject=subject, description="Since Monday.", priority=priority
    )


def text_of(content: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", content)).strip()


def promise_of(content: str) -> str | None:
    """The case page's promise element, or None."""
    found = re.search(
        r'<p class="response-due[^"]*" data-response-due="[^"]*">.*?</p>', content, re.S
    )
    return found.group(0) if found else None


def case_page(client, case: Case) -> str:
    client.force_login(case.requester)
    response = client.get(case.get_absolute_url())
    assert response.status_code == 200
    return response.content.decode()


def row_of(client, case: Case, path: str = "/cases/") -> str:
    client.force_login(case.requester)
    content = client.get(path).content.decode()
    found = re.search(
        rf'<li class="case-row" data-case-reference="{case.reference}".*?</li>', content, re.S
    )
    assert found, case.reference
    return found.group(0)


# --- The case page ------------------------------------------------------------------------


def test_a_running_target_says_when_we_aim_to_reply_with_plan_and_priority(client, requester, at):
    at(paris(2026, 12, 8, 10))  # a Tuesday: four business hours end at 14:00
    case = open_case(requester)
    at(paris(2026, 12, 8, 11, 30))

    promise = promise_of(case_page(client, case))

    assert text_of(promise) == "We aim to reply by Tue 8 Dec, 14:00 CET (Business plan, P2)."
    assert 'data-response-due="2026-12-08T14:00:00.000+01:00"' in promise
    assert '<time datetime="2026-12-08T14:00:00.000+01:00">Tue 8 Dec, 14:00 CET</time>' in promise
    assert f'<a href="{PLANS}">Business plan, P2</a>' in promise


def test_the_due_time_is_iso_8601_with_the_offset_of_its_season(client, requester, at):
    at(paris(2026, 7, 7, 10))  # summer time
    case = open_case(requester)

    promise = promise_of(case_page(client, case))
    attribute = re.search(r'data-response-due="([^"]+)"', promise).group(1)

    due = datetime.fromisoformat(attribute)
    assert due.utcoffset() == timedelta(hours=2)
    assert due == paris(2026, 7, 7, 14) == Case.objects.get(pk=case.pk).response_due_at
    assert "Tue 7 Jul, 14:00 CEST" in text_of(promise)


def test_a_target_counted_over_a_weekend_shows_the_day_it_falls_on(client, requester, at):
    at(paris(2026, 12, 4, 16))  # Friday 16:00: one business hour left that day
    case = open_case(requester)

    assert "We aim to reply by Mon 7 Dec, 12:00 CET" in text_of(
        promise_of(case_page(client, case))
    )


def test_times_show_in_the_readers_zone_the_organisations_by_default(client, at, settings):
    organisation = OrganisationFactory(
        plan=Plan.objects.get(name="Business"), time_zone="America/New_York"
    )
    at(paris(2026, 12, 8, 16))  # 10:00 in New York
    member = customer(organisation)
    case = open_case(member)

    promise = promise_of(case_page(client, case))

    # Four New York business hours: 14:00 there, 20:00 in Paris.
    assert "We aim to reply by Tue 8 Dec, 14:00 EST" in text_of(promise)
    assert 'data-response-due="2026-12-08T14:00:00.000-05:00"' in promise

    # A member who chose Paris reads the same moment there.
    member.time_zone = "Europe/Paris"
    member.save()
    promise = promise_of(case_page(client, case))
    assert "We aim to reply by Tue 8 Dec, 20:00 CET" in text_of(promise)
    assert 'data-response-due="2026-12-08T20:00:00.000+01:00"' in promise


def test_the_promise_holds_until_the_due_minute_then_says_we_are_late(client, requester, at):
    at(paris(2026, 12, 8, 10))
    case = open_case(requester)

    at(paris(2026, 12, 8, 14))
    assert text_of(promise_of(case_page(client, case))).startswith("We aim to reply by")

    at(paris(2026, 12, 8, 14, 0, 1))
    promise = promise_of(case_page(client, case))
    assert text_of(promise) == (
        "We aimed to reply by Tue 8 Dec, 14:00 CET (Business plan, P2). "
        "Sorry we are late: an engineer will be with you as soon as possible."
    )
    assert 'data-response-due="2026-12-08T14:00:00.000+01:00"' in promise
    assert "response-overdue" in promise


def test_the_engineers_reply_ends_the_promise(client, requester, engineer, at):
    at(paris(2026, 12, 8, 10))
    case = services.case_assign(case=open_case(requester), engineer=engineer)
    at(paris(2026, 12, 8, 11))
    services.case_reply(case=case, author=engineer, body="Looking at it now.")

    content = case_page(client, case)

    assert promise_of(content) is None
    assert "data-response-due" not in content


def test_nothing_while_the_case_waits_on_the_customer(client, requester, engineer, at):
    at(paris(2026, 12, 8, 10))
    case = services.case_assign(case=open_case(requester), engineer=engineer)
    # Resolved without a public reply: the target is paused, not met.
    services.case_resolve(case=case, engineer=engineer)
    assert ResponseTarget.objects.get(case=case).outcome == TargetOutcome.PAUSED

    assert "data-response-due" not in case_page(client, case)

    # The customer reopens it: the promise is back, with the time it had left.
    at(paris(2026, 12, 8, 15))
    services.case_reopen(case=case, actor=requester, message="Still slow.")
    assert "We aim to reply by Wed 9 Dec, 11:00 CET" in text_of(case_page(client, case))


def test_nothing_on_a_case_the_customer_marked_resolved_or_closed(client, requester, at):
    at(paris(2026, 12, 8, 10))
    resolved = open_case(requester)
    services.case_mark_resolved(case=resolved, customer=requester)
    closed = open_case(requester, subject="Other")
    services.case_close(case=closed, actor=requester)

    for case in (resolved, closed):
        assert "data-response-due" not in case_page(client, case)


def test_nothing_when_the_plan_promises_nothing_for_the_priority(client, requester, at):
    PlanTarget.objects.filter(plan__name="Business", priority=Priority.P4).delete()
    at(paris(2026, 12, 8, 10))
    case = open_case(requester, priority=Priority.P4)

    assert Case.objects.get(pk=case.pk).response_due_at is None
    assert "data-response-due" not in case_page(client, case)


def test_a_stale_due_time_on_a_case_waiting_on_the_customer_shows_nothing(client, requester):
    """The page asks the status too: only New, Open and In Progress wait on us."""
    case = CaseFactory(pending_customer=True, requester=requester)
    running_target(case, paris(2026, 12, 8, 14))

    assert "data-response-due" not in case_page(client, case)


def test_the_plan_name_is_escaped(client, requester, at):
    plan = Plan.objects.get(name="Business")
    plan.name = '<b>Gold & "Co"</b>'
    plan.save()
    at(paris(2026, 12, 8, 10))
    case = open_case(requester)

    promise = promise_of(case_page(client, case))

    assert "<b>" not in promise
    assert "&lt;b&gt;Gold &amp; &#34;Co&#34;&lt;/b&gt; plan, P2" in promise


def test_the_terms_are_the_running_targets_after_a_priority_change(
    client, requester, engineer, at
):
    at(paris(2026, 12, 8, 10))
    case = services.case_assign(case=open_case(requester, priority=Priority.P3), engineer=engineer)
    services.case_update_details(
        case=case, engineer=engineer, subject=case.subject, priority=Priority.P1
    )

    # P1 on Business is an hour around the clock.
    assert text_of(promise_of(case_page(client, case))) == (
        "We aim to reply by Tue 8 Dec, 11:00 CET (Business plan, P1)."
    )


def test_a_date_in_another_year_says_its_year(client, requester, at):
    at(paris(2026, 12, 31, 16))  # Thursday; 1 January is a holiday in France
    case = open_case(requester)

    assert "We aim to reply by Mon 4 Jan 2027, 12:00 CET" in text_of(
        promise_of(case_page(client, case))
    )


def test_the_pages_show_a_promise_in_the_statuses_where_the_clock_runs():
    from cases import presenters, service_levels

    assert presenters.WAITING_ON_US == service_levels.WAITING_ON_US


# --- My Cases -------------------------------------------------------------------------------


def test_my_cases_rows_say_reply_by_with_the_same_hook(client, requester, engineer, at):
    at(paris(2026, 12, 8, 10))
    running = open_case(requester)
    pending = services.case_assign(case=open_case(requester, subject="Logs"), engineer=engineer)
    services.case_request_info(case=pending, engineer=engineer, message="Logs?", kind="logs")
    at(paris(2026, 12, 8, 11))

    row = row_of(client, running)
    assert (
        '<span class="response-due" data-response-due="2026-12-08T14:00:00.000+01:00">Reply by '
        '<time datetime="2026-12-08T14:00:00.000+01:00">Tue 8 Dec, 14:00 CET</time></span>'
    ) in row
    assert "data-response-due" not in row_of(client, pending)
    assert "data-response-due" not in row_of(client, pending, "/cases/?status=pending_customer")


def test_my_cases_rows_say_when_the_reply_was_due_once_late(client, requester, at):
    at(paris(2026, 12, 8, 10))
    case = open_case(requester)
    at(paris(2026, 12, 8, 14, 1))

    row = row_of(client, case)

    assert 'class="response-due response-overdue"' in row
    assert "Reply was due Tue 8 Dec, 14:00 CET" in text_of(row)


def queries_for(client, path: str) -> int:
    client.get(path)
    cache.clear()
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    assert response.status_code == 200
    return len(captured.captured_queries)


def test_the_promise_costs_no_query(client, requester, engineer, at):
    at(paris(2026, 12, 8, 10))
    running = open_case(requester)
    met = services.case_assign(case=open_case(requester, subject="Met"), engineer=engineer)
    services.case_reply(case=met, author=engineer, body="On it.")
    for _ in range(10):
        open_case(requester, subject="More")
    client.force_login(requester)

    with_promise = queries_for(client, running.get_absolute_url())
    without = queries_for(client, met.get_absolute_url())
    assert "data-response-due" in client.get(running.get_absolute_url()).content.decode()
    assert with_promise == without <= 10
    assert client.get("/cases/").content.decode().count("data-response-due=") == 11
    assert queries_for(client, "/cases/") <= 6
    # The running target comes joined to the case's own query, never asked for apart.
    for path in (running.get_absolute_url(), "/cases/"):
        with CaptureQueriesContext(connection) as captured:
            client.get(path)
        assert not [
            q for q in captured.captured_queries if 'FROM "cases_responsetarget"' in q["sql"]
        ]


def test_the_customers_history_leaves_out_support_s_own_service_level_entries(
    client, requester, engineer, at
):
    at(paris(2026, 3, 2, 10))
    case = open_case(requester, priority=Priority.P3)
    services.case_update_details(
        case=case, engineer=engineer, subject=case.subject, priority=Priority.P2
    )
    at(paris(2026, 3, 3, 18))
    services.check_service_levels()
    kinds = set(case.events.values_list("transition", flat=True))
    assert {"service_level", "service_level_breach"} <= kinds
    content = case_page(client, case)
    assert "target missed" not in content
    assert "First response target" not in content
    assert "Priority P3 Normal → P2 High" in text_of(content)

    client.force_login(EngineerFactory(is_superuser=True))
    admin_page = client.get(f"/admin/cases/case/{case.pk}/change/").content.decode()
    assert "First response target missed" in admin_page
    assert "Automatically (service levels)" in admin_page
