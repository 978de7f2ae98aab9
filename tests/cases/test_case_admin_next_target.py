"""The case list's "Next target": time left or overdue, the three filters and the sort by
next due (time travel throughout)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cases import services
from cases.models import Case, Coverage, Plan, PlanTarget, Priority, ResponseTarget
from tests.factories import CaseFactory, OrganisationFactory, customer, running_target

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/cases/case/"
HOUR = timedelta(hours=1)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def engineer_client(client, engineer):
    client.force_login(engineer)
    return client


@pytest.fixture
def requester(db):
    """A customer on a plan that counts around the clock: P1 1 h, P2 4 h."""
    plan = Plan.objects.create(name="Around the clock", position=9)
    for priority, first in ((Priority.P1, HOUR), (Priority.P2, 4 * HOUR)):
        PlanTarget.objects.create(
            plan=plan,
            priority=priority,
            first_response=first,
            next_update=2 * first,
            coverage=Coverage.ALWAYS,
        )
    return customer(OrganisationFactory(plan=plan))


def opened(requester, priority: int, subject: str) -> Case:
    case = services.case_open(
        requester=requester, subject=subject, description="Nodes NotReady.", priority=priority
    )
    return Case.objects.get(pk=case.pk)


def cell(content: str, case: Case) -> str:
    """The Next target cell of `case`'s row."""
    row = content.split(f">{case.reference}<", 1)[1].split("</tr>", 1)[0]
    return row.split('<td class="field-next_target">', 1)[1].split("</td>", 1)[0]


def due(case: Case, moment: datetime | None) -> Case:
    running_target(case, moment)
    return case


def listed(client, **params) -> list[Case]:
    return list(client.get(CHANGELIST, params).context["cl"].result_list)


# --- The column ---------------------------------------------------------------------------


def test_column_shows_time_left_overdue_or_nothing(
    engineer_client, engineer, requester, time_machine
):
    time_machine.move_to(utc(2026, 3, 2, 10), tick=False)
    in_time = opened(requester, Priority.P2, "Slow dashboard")  # due 14:00
    late = opened(requester, Priority.P1, "Cluster down")  # due 11:00
    answered = opened(requester, Priority.P2, "Answered")
    services.case_reply(case=answered, author=engineer, body="On it.")

    time_machine.move_to(utc(2026, 3, 2, 11, 25), tick=False)
    content = engineer_client.get(CHANGELIST).content.decode()

    assert cell(content, in_time) == (
        '<span class="sla-due" title="Due 2 Mar 2026, 14:00 UTC">in 2 h 35 min</span>'
    )
    assert cell(content, late) == (
        '<strong class="sla-overdue" title="Due 2 Mar 2026, 11:00 UTC">'
        "⚠ overdue by 25 min</strong>"
    )
    # The first response was met: no target runs until the customer writes again.
    assert cell(content, answered) == "-"  # the admin's mark for an empty value
    assert '<th scope="col" class="sortable column-next_target">' in content


@pytest.mark.parametrize(
    ("left", "text"),
    [
        (timedelta(days=2, hours=3, minutes=59), "in 2 d 3 h"),
        (timedelta(days=1), "in 1 d"),
        (timedelta(hours=2), "in 2 h"),
        (timedelta(minutes=59, seconds=59), "in 59 min"),
        (timedelta(seconds=30), "in less than 1 min"),
        (timedelta(0), "in less than 1 min"),
        (-timedelta(seconds=1), "overdue by less than 1 min"),
        (-timedelta(hours=26, minutes=5), "overdue by 1 d 2 h"),
    ],
)
def test_time_left_reads_in_two_units_at_most(engineer_client, time_machine, left, text):
    time_machine.move_to(utc(2026, 3, 2, 10), tick=False)
    case = due(CaseFactory(open=True), utc(2026, 3, 2, 10) + left)
    assert text in cell(engineer_client.get(CHANGELIST).content.decode(), case)


# --- The filters -------------------------------------------------------------------------


@pytest.fixture
def due_times(settings, time_machine):
    """Cases due around 21:30 UTC on 2 March, which is 22:30 in Paris, the portal's zone."""
    settings.TIME_ZONE = "Europe/Paris"
    now = utc(2026, 3, 2, 21, 30)
    time_machine.move_to(now, tick=False)
    moments = {
        "a minute ago": now - timedelta(minutes=1),
        "yesterday": now - timedelta(days=1),
        "now": now,
        "in 59 min": now + timedelta(minutes=59),
        "in an hour": now + HOUR,
        "before midnight in Paris": utc(2026, 3, 2, 22, 59),
        "midnight in Paris": utc(2026, 3, 2, 23),
        "tomorrow": now + timedelta(days=1),
        "no target": None,
    }
    return {
        name: due(CaseFactory(open=True, subject=name), moment) for name, moment in moments.items()
    }


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("breached", {"a minute ago", "yesterday"}),
        ("within_hour", {"now", "in 59 min"}),
        # Not breached yet, and due before midnight on the portal's clock (Paris), which
        # is 23:00 UTC: still 2 March in UTC, but tomorrow in Paris.
        ("today", {"now", "in 59 min", "in an hour", "before midnight in Paris"}),
    ],
)
def test_next_target_filters_either_side_of_each_boundary(
    engineer_client, due_times, value, expected
):
    assert {case.subject for case in listed(engineer_client, next_target=value)} == expected


def test_each_next_target_filter_is_a_plain_link(engineer_client, due_times):
    content = engineer_client.get(CHANGELIST).content.decode()
    for value, label in [
        ("breached", "Breached"),
        ("within_hour", "Due within 1 hour"),
        ("today", "Due today"),
    ]:
        assert f'<a href="?next_target={value}">{label}</a>' in content


def test_an_unknown_next_target_filter_is_refused_like_any_bad_filter(engineer_client):
    response = engineer_client.get(CHANGELIST, {"next_target": "soon"})
    assert response.status_code == 302
    assert response["Location"].endswith("?e=1")


# --- Sorting by next due ------------------------------------------------------------------


def column(client, name: str) -> int:
    return client.get(CHANGELIST).context["cl"].list_display.index(name)


def test_sorting_by_next_due_lists_running_targets_soonest_first(engineer_client, due_times):
    index = column(engineer_client, "next_target")
    response = engineer_client.get(CHANGELIST, {"o": str(index)})
    soonest_first = [case.subject for case in response.context["cl"].result_list]
    assert soonest_first == [
        "yesterday",
        "a minute ago",
        "now",
        "in 59 min",
        "in an hour",
        "before midnight in Paris",
        "midnight in Paris",
        "tomorrow",
    ]
    assert b"only cases with a running target are listed" in response.content

    latest_first = listed(engineer_client, o=f"-{index}")
    assert [case.subject for case in latest_first] == soonest_first[::-1]


def test_next_due_as_a_second_sort_keeps_every_case_with_no_target_last(
    engineer_client, time_machine
):
    time_machine.move_to(utc(2026, 3, 2, 10), tick=False)
    none = CaseFactory(open=True, priority=Priority.P1, subject="none")
    late = due(CaseFactory(open=True, priority=Priority.P1, subject="late"), utc(2026, 3, 2, 12))
    soon = due(CaseFactory(open=True, priority=Priority.P1, subject="soon"), utc(2026, 3, 2, 11))
    other = due(CaseFactory(open=True, priority=Priority.P2, subject="P2"), utc(2026, 3, 2, 9))
    priority, next_target = (
        column(engineer_client, "priority"),
        column(engineer_client, "next_target"),
    )

    response = engineer_client.get(CHANGELIST, {"o": f"{priority}.{next_target}"})

    assert list(response.context["cl"].result_list) == [soon, late, none, other]
    assert b"only cases with a running target are listed" not in response.content


def test_the_list_sorted_and_filtered_by_next_target_costs_no_more_queries(
    engineer_client, due_times, django_assert_max_num_queries
):
    index = column(engineer_client, "next_target")
    for params in ({"o": str(index)}, {"next_target": "today", "o": f"-{index}"}):
        with django_assert_max_num_queries(12):
            assert engineer_client.get(CHANGELIST, params).status_code == 200


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="the plan is PostgreSQL's")
def test_sorting_and_filtering_by_next_due_read_the_partial_index(engineer_client):
    """A few thousand cases, a tenth with a running target: the page comes from the index
    `response_target_running_due` in order, not from sorting the table."""
    requester = customer()
    now = datetime.now(UTC)
    cases = Case.objects.bulk_create(
        Case(
            subject=f"Case {n}",
            description="x",
            requester=requester,
            organisation=requester.membership.organisation,
        )
        for n in range(4000)
    )
    template = running_target(cases[0], now)
    ResponseTarget.objects.bulk_create(
        ResponseTarget(
            case=case,
            kind=template.kind,
            plan=template.plan,
            priority=template.priority,
            coverage=template.coverage,
            target=template.target,
            started_at=now,
            run_started_at=now,
            due_at=now + timedelta(minutes=n - 150),
        )
        for n, case in enumerate(cases[10::10], start=10)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE cases_case")
        cursor.execute("ANALYZE cases_responsetarget")
    index = column(engineer_client, "next_target")
    for params in (
        {"o": str(index)},
        {"o": f"-{index}"},
        {"o": str(index), "next_target": "breached"},
    ):
        with CaptureQueriesContext(connection) as captured:
            engineer_client.get(CHANGELIST, params)
        [page] = [
            q["sql"]
            for q in captured.captured_queries
            if q["sql"].startswith("SELECT")
            and "ORDER BY" in q["sql"]
            and "cases_case" in q["sql"]
            and '"running_target"' in q["sql"]
            and "LIMIT" in q["sql"]
        ]
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN {page}")
            plan = "\n".join(row[0] for row in cursor.fetchall())
        assert "response_target_running_due" in plan, (params, plan)
        assert "Seq Scan on cases_case" not in plan, (params, plan)
