"""The admin case page's Service level panel: the plan and coverage, the running clock
and every target with its outcome (time travel throughout)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cases import services
from cases.models import Case, Plan, Priority
from tests.factories import CaseFactory, OrganisationFactory, customer, plan_with_targets

pytestmark = pytest.mark.django_db

HOUR = timedelta(hours=1)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def engineer_client(client, engineer):
    client.force_login(engineer)
    return client


@pytest.fixture
def plan(db):
    """P1 around the clock (1 h, then 2 h), P3 in business hours (4 h, then 8 h)."""
    return plan_with_targets("Tested")


@pytest.fixture
def requester(plan):
    return customer(OrganisationFactory(plan=plan, time_zone="Europe/Paris", holiday_country="FR"))


@pytest.fixture
def at(time_machine):
    def move(moment: datetime) -> datetime:
        time_machine.move_to(moment, tick=False)
        return moment

    return move


def opened(requester, priority=Priority.P1) -> Case:
    return services.case_open(
        requester=requester, subject="Cluster down", description="Nodes.", priority=priority
    )


def reload(case: Case) -> Case:
    return Case.objects.get(pk=case.pk)


def panel(client, case: Case) -> str:
    """The panel's text, tags stripped and spaces folded."""
    content = client.get(reverse("admin:cases_case_change", args=[case.pk])).content.decode()
    section = content.split('<section class="wb-sla"', 1)[1].split("</section>", 1)[0]
    return section.split(">", 1)[1]


def text(html: str) -> str:
    """What a reader sees: tags dropped, spaces folded (none before punctuation)."""
    words = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()
    return unescape(re.sub(r" ([:,.;)])", r"\1", words))


def rows(html: str) -> list[str]:
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [text(row) for row in body.split("</tr>") if row.strip()]


def test_running_target_shows_plan_coverage_and_time_left(engineer_client, requester, at):
    at(utc(2026, 3, 2, 10))
    case = opened(requester)
    at(utc(2026, 3, 2, 10, 20))
    html = panel(engineer_client, case)
    assert text(html).startswith(
        "Service level Plan Tested Priority P1 Critical Coverage 24×7 Clock "
        "First response (1 hour), started 2 Mar 2026, 10:00 UTC, "
        "due 2 Mar 2026, 11:00 UTC: in 40 min"
    )
    # The machine-readable due time, as the customer's page carries it.
    assert 'data-response-due="2026-03-02T11:00:00.000+00:00"' in html
    assert rows(html) == [
        "First response Tested plan, P1 Critical: 1 hour, 24×7 2 Mar 2026, 10:00 UTC "
        "2 Mar 2026, 11:00 UTC — Running"
    ]


def test_overdue_target_is_marked_in_words_and_with_a_sign(engineer_client, requester, at):
    at(utc(2026, 3, 2, 10))
    case = opened(requester)
    at(utc(2026, 3, 2, 11, 25))
    html = panel(engineer_client, case)
    assert '<strong class="sla-overdue">⚠ overdue by 25 min</strong>' in html
    assert rows(html)[0].endswith("⚠ Running, overdue")


def test_business_hours_coverage_names_the_zone_and_the_holidays(engineer_client, requester, at):
    at(utc(2026, 3, 2, 10))
    case = opened(requester, Priority.P3)
    assert (
        "Coverage Business hours, Monday to Friday 09:00–17:00 Europe/Paris, "
        "less the public holidays of FR"
    ) in text(panel(engineer_client, case))
    requester.membership.organisation.__class__.objects.filter(
        pk=requester.membership.organisation.pk
    ).update(time_zone="", holiday_country="")
    assert (
        "Business hours, Monday to Friday 09:00–17:00 UTC (the portal's), no public holidays set"
    ) in text(panel(engineer_client, case))


def test_met_missed_paused_and_stopped_targets_are_each_listed(
    engineer_client, engineer, requester, at
):
    at(utc(2026, 3, 2, 10))
    case = opened(requester)
    at(utc(2026, 3, 2, 10, 30))
    services.case_reply(case=reload(case), author=engineer, body="Looking.")  # met
    at(utc(2026, 3, 2, 11))
    services.case_reply(case=reload(case), author=requester, body="Still down.")  # next update
    at(utc(2026, 3, 2, 13, 30))
    services.case_reply(case=reload(case), author=engineer, body="Late.")  # missed: due 13:00
    at(utc(2026, 3, 2, 14))
    services.case_reply(case=reload(case), author=requester, body="And now?")
    at(utc(2026, 3, 2, 14, 45))
    services.case_mark_resolved(case=reload(case), customer=requester)  # paused after 45 min

    html = panel(engineer_client, case)
    assert (
        "Clock Paused — waiting on the customer. Next update (2 hours), started "
        "2 Mar 2026, 14:00 UTC: 45 minutes used so far; the rest counts once the case is "
        "back with support."
    ) in text(html)
    assert len(rows(html)) == 3
    assert rows(html)[0].endswith("2 Mar 2026, 10:30 UTC ✓ Met")
    assert rows(html)[1].endswith(
        "2 Mar 2026, 11:00 UTC — 2 Mar 2026, 13:30 UTC ⚠ Missed (due 2 Mar 2026, 13:00 UTC)"
    )

    at(utc(2026, 3, 2, 15))
    services.case_close(case=reload(case), actor=requester)
    html = panel(engineer_client, case)
    assert "Clock No target running." in text(html)
    assert rows(html)[-1].endswith("2 Mar 2026, 15:00 UTC Stopped")
    assert 'data-target-outcome="stopped"' in html


def test_a_case_that_never_had_a_target_says_so(engineer_client):
    case = CaseFactory(open=True, priority=Priority.P2)
    html = text(panel(engineer_client, case))
    default = Plan.objects.default()
    assert f"Plan {default.name} Priority P2 High Coverage — Clock No target running." in html
    assert "No response target has run on this case." in html


def test_the_panel_reads_the_targets_once_however_many(engineer_client, engineer, requester, at):
    at(utc(2026, 3, 2, 10))
    short, long = opened(requester), opened(requester)
    for hour in range(12):
        at(utc(2026, 3, 2, 11 + hour))
        services.case_reply(case=reload(long), author=requester, body="More.")
        at(utc(2026, 3, 2, 11 + hour, 30))
        services.case_reply(case=reload(long), author=engineer, body="Answer.")
    counts = []
    for case in (short, long, long):
        with CaptureQueriesContext(connection) as captured:
            panel(engineer_client, case)
        counts.append(
            (
                len(captured.captured_queries),
                # The targets read as such (the case's own query joins its running one).
                sum('FROM "cases_responsetarget"' in q["sql"] for q in captured.captured_queries),
            )
        )
    assert counts[1] == counts[2]
    assert counts[0] == counts[1]
    assert counts[0][1] == 1
