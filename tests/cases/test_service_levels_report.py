"""The admin's Service levels report: met, missed and running targets per plan and
priority over the last 30 days, attainment, the daily chart, and who may see it."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from html import unescape
from xml.etree import ElementTree

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from cases import selectors, services
from cases.admin.targets import report_days, report_rows
from cases.models import (
    Case,
    Coverage,
    Plan,
    PlanTarget,
    Priority,
    ResponseTarget,
    TargetKind,
    TargetOutcome,
)
from tests.factories import (
    CaseFactory,
    EngineerFactory,
    OrganisationFactory,
    UserFactory,
    customer,
)

pytestmark = pytest.mark.django_db

REPORT = "/admin/cases/case/service-levels/"
NOW = datetime(2026, 3, 31, 12, tzinfo=UTC)
HOUR = timedelta(hours=1)
FIRST, NEXT = TargetKind.FIRST_RESPONSE, TargetKind.NEXT_UPDATE
MET, MISSED = TargetOutcome.MET, TargetOutcome.MISSED
RUNNING, PAUSED, STOPPED = TargetOutcome.RUNNING, TargetOutcome.PAUSED, TargetOutcome.STOPPED


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def target(plan, priority, kind, outcome, started, *, due=None, breached=None) -> ResponseTarget:
    """One target on a case of its own, as the clock would have left it."""
    finished = outcome in (MET, MISSED, STOPPED)
    return ResponseTarget.objects.create(
        case=CaseFactory(open=True, priority=priority),
        kind=kind,
        plan=plan,
        priority=priority,
        coverage=Coverage.ALWAYS,
        target=HOUR,
        started_at=started,
        run_started_at=started,
        due_at=due,
        breached_at=breached,
        ended_at=started + HOUR / 2 if finished else None,
        outcome=outcome,
    )


@pytest.fixture
def targets(settings, time_machine):
    """March 2026 in Paris (the portal's zone): the window is 2 to 31 March, which starts
    at 23:00 UTC on 1 March."""
    settings.TIME_ZONE = "Europe/Paris"
    time_machine.move_to(NOW, tick=False)
    basic = Plan.objects.create(name="Basic", position=10)
    premium = Plan.objects.create(name="Premium", position=11)
    p1, p3 = Priority.P1, Priority.P3
    # Premium P1, first response: 3 met, 1 missed, 1 overdue (missed), 1 in time and
    # 1 paused (running), 1 stopped.
    target(premium, p1, FIRST, MET, utc(2026, 3, 2, 9))
    target(premium, p1, FIRST, MET, utc(2026, 3, 10, 9))
    target(premium, p1, FIRST, MET, utc(2026, 3, 10, 10))
    target(premium, p1, FIRST, MISSED, utc(2026, 3, 10, 11), breached=utc(2026, 3, 10, 12))
    target(premium, p1, FIRST, RUNNING, utc(2026, 3, 31, 11, 30), due=utc(2026, 3, 31, 12, 30))
    # Past its due time, though no breach is recorded on it yet.
    target(premium, p1, FIRST, RUNNING, utc(2026, 3, 31, 9), due=utc(2026, 3, 31, 10))
    target(premium, p1, FIRST, PAUSED, utc(2026, 3, 30, 9))
    target(premium, p1, FIRST, STOPPED, utc(2026, 3, 15, 9))
    # Premium P1, next update: 1 met, 1 breached before the case closed (missed).
    target(premium, p1, NEXT, MET, utc(2026, 3, 15, 10))
    target(premium, p1, NEXT, STOPPED, utc(2026, 3, 20, 9), breached=utc(2026, 3, 20, 10))
    # Basic P3: the first minute of the window in Paris is in, the one before is out.
    target(basic, p3, FIRST, MET, utc(2026, 3, 1, 23))
    target(basic, p3, FIRST, MET, utc(2026, 3, 20, 9))
    target(basic, p3, FIRST, MISSED, utc(2026, 3, 1, 22, 59, 59), breached=utc(2026, 3, 2))
    return basic, premium


def report():
    return selectors.service_level_report(now=timezone.now(), zone=timezone.get_current_timezone())


def test_counts_per_plan_priority_and_kind(targets):
    data = report()
    assert (data["first_day"], data["last_day"]) == (date(2026, 3, 2), date(2026, 3, 31))
    rows, total = report_rows(data["per_terms"])
    summary = [
        (
            row.plan,
            row.priority,
            (row.all.met, row.all.missed, row.all.running, row.all.stopped),
            row.all.attainment,
            row.first_response.attainment,
            row.first_response.finished_text,
            row.next_update.attainment,
            row.next_update.finished_text,
        )
        for row in [*rows, total]
    ]
    assert summary == [
        ("Basic", "P3 Normal", (2, 0, 0, 0), "100 %", "100 %", "2 of 2 met", "—", "none finished"),
        (
            "Premium",
            "P1 Critical",
            (4, 3, 2, 1),
            "57 %",
            "60 %",
            "3 of 5 met",
            "50 %",
            "1 of 2 met",
        ),
        ("All plans", "", (6, 3, 2, 1), "66 %", "71 %", "5 of 7 met", "50 %", "1 of 2 met"),
    ]


def test_daily_attainment_counts_each_day_in_the_portals_zone(targets):
    data = report()
    days = report_days(data["per_day"], data["first_day"], data["last_day"])
    assert len(days) == 30
    finished = {d.day.day: (d.met, d.missed, d.share) for d in days if d.share is not None}
    assert finished == {
        2: (2, 0, 100),  # 23:00 UTC on 1 March is 2 March in Paris
        10: (2, 1, 66),
        15: (1, 0, 100),
        20: (1, 1, 50),
        31: (0, 1, 0),  # the overdue one; the one still in time is not finished
    }
    # The paused target of 30 March has not finished: a gap, not 0 %.
    assert next(d for d in days if d.day.day == 30).share is None


def test_report_page_shows_the_table_the_chart_and_its_figures(client, targets):
    client.force_login(EngineerFactory())
    with CaptureQueriesContext(connection) as queries:
        response = client.get(REPORT)
    assert response.status_code == 200
    content = response.content.decode()
    table = content.split('<table aria-labelledby="per-plan"', 1)[1].split("</table>", 1)[0]
    lines = [
        unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)).strip())
        for row in table.split("</tr>")[1:-1]
    ]
    assert lines == [
        "Basic P3 Normal 2 0 0 0 100 % 100 % (2 of 2 met) — (none finished)",
        "Premium P1 Critical 4 3 2 1 57 % 60 % (3 of 5 met) 50 % (1 of 2 met)",
        "All plans 6 3 2 1 66 % 71 % (5 of 7 met) 50 % (1 of 2 met)",
    ]
    assert "Response targets started in the last 30 days (2 Mar 2026 to today)" in content
    figure = content.split('<figure class="sla-chart"', 1)[1]
    svg = figure.split("<svg", 1)[1].split("</svg>", 1)[0]
    chart = ElementTree.fromstring(f"<svg{svg}</svg>")
    assert chart.get("role") == "img"
    title = chart.find("{http://www.w3.org/2000/svg}title").text
    assert title == "Daily attainment, 2 Mar 2026 to today"
    assert len(list(chart.iter("{http://www.w3.org/2000/svg}circle"))) == 5
    # The figures behind the chart, as a table: a gap reads "—".
    assert (
        '<tr data-day="2026-03-10"><td>Tue 10 Mar</td><td>2</td><td>1</td><td>66 %</td></tr>'
        in content
    )
    assert '<tr data-day="2026-03-30"><td>Mon 30 Mar</td><td>0</td><td>0</td><td>—</td></tr>' in (
        content
    )
    # Session, user, then the two aggregates: nothing per row or per day.
    assert sum("cases_responsetarget" in q["sql"] for q in queries.captured_queries) == 2


def test_targets_of_real_cases_count_as_the_clock_leaves_them(client, time_machine, engineer):
    """Through the services: a first response met in time, one missed, one running."""
    plan = Plan.objects.create(name="Clocked", position=12)
    PlanTarget.objects.create(
        plan=plan,
        priority=Priority.P1,
        first_response=HOUR,
        next_update=2 * HOUR,
        coverage=Coverage.ALWAYS,
    )
    requester = customer(OrganisationFactory(plan=plan))

    def opened():
        return services.case_open(
            requester=requester, subject="Down", description="x", priority=Priority.P1
        )

    time_machine.move_to(utc(2026, 3, 30, 9), tick=False)
    in_time, late = opened(), opened()
    time_machine.move_to(utc(2026, 3, 30, 9, 30), tick=False)
    services.case_reply(case=Case.objects.get(pk=in_time.pk), author=engineer, body="Here.")
    time_machine.move_to(utc(2026, 3, 30, 11), tick=False)
    services.case_reply(case=Case.objects.get(pk=late.pk), author=engineer, body="Sorry.")
    time_machine.move_to(utc(2026, 3, 31, 9), tick=False)
    opened()

    rows, total = report_rows(report()["per_terms"])
    [row] = [row for row in rows if row.plan == "Clocked"]
    assert (row.all.met, row.all.missed, row.all.running, row.all.attainment) == (1, 1, 1, "50 %")


def test_with_no_target_in_the_window_the_report_says_so(client, time_machine):
    time_machine.move_to(NOW, tick=False)
    client.force_login(EngineerFactory())
    content = client.get(REPORT).content.decode()
    assert "No response target started in these 30 days." in content
    assert "no target finished" in content
    assert "<circle" not in content


# --- Who may see it ------------------------------------------------------------------------


def test_report_is_linked_from_the_case_list(client):
    client.force_login(EngineerFactory())
    assert f'href="{REPORT}"' in client.get("/admin/cases/case/").content.decode()


def test_customers_and_anonymous_visitors_are_sent_to_the_admin_login(client):
    client.force_login(customer())
    for signed_in in (True, False):
        response = client.get(REPORT)
        assert response.status_code == 302, signed_in
        assert response["Location"].startswith("/admin/login/")
        client.logout()


def test_staff_without_permission_to_view_cases_are_refused(client):
    staff = UserFactory(is_staff=True)
    client.force_login(staff)
    assert client.get(REPORT).status_code == 403
    staff.user_permissions.add(Permission.objects.get(codename="view_case"))
    assert client.get(REPORT).status_code == 200
