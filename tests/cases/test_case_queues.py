"""The case list's queues: what each selects, its count, its URL, and their cost."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from cases import services
from cases.admin import queues
from cases.models import Priority, ResponseTarget, Status, TargetKind, TargetOutcome
from tests.factories import CaseFactory, EngineerFactory, running_target

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/cases/case/"
NOW = "2026-06-01 10:00:00+00:00"


@pytest.fixture
def engineer_client(client, engineer):
    client.force_login(engineer)
    return client


@pytest.fixture
def frozen(time_machine):
    time_machine.move_to(NOW, tick=False)
    return time_machine


def queue(slug: str) -> queues.Queue:
    return next(each for each in queues.QUEUES if each.slug == slug)


def listed(client, slug: str) -> set[int]:
    """The cases the list shows at the queue's URL, after checking its count says so."""
    response = client.get(CHANGELIST, queue(slug).params)
    assert response.status_code == 200
    cl = response.context["cl"]
    shown = {case.pk for case in cl.result_list}
    link = next(link for link in response.context["queues"] if link.queue.slug == slug)
    assert link.count == len(shown) == cl.result_count, slug
    assert link.active, slug
    return shown


def test_mine_is_my_cases_in_an_open_status(engineer_client, engineer):
    mine = [
        CaseFactory(open=True, engineer=engineer),
        CaseFactory(in_progress=True, engineer=engineer),
        CaseFactory(pending_customer=True, engineer=engineer),
    ]
    CaseFactory(resolved=True, engineer=engineer)
    CaseFactory(closed=True, engineer=engineer)
    CaseFactory(open=True)  # another engineer's
    CaseFactory()  # new, nobody's
    assert listed(engineer_client, "mine") == {case.pk for case in mine}


def test_unassigned_is_new_cases_without_an_engineer(engineer_client, engineer):
    new = [CaseFactory(), CaseFactory(priority=Priority.P1)]
    CaseFactory(open=True, engineer=engineer)
    CaseFactory(pending_customer=True)
    assert listed(engineer_client, "unassigned") == {case.pk for case in new}


def test_p1_p2_not_yet_answered_is_a_running_first_response(engineer_client, frozen):
    now = timezone.now()
    p1 = CaseFactory(priority=Priority.P1)
    p2 = CaseFactory(priority=Priority.P2, open=True)
    overdue = CaseFactory(priority=Priority.P1)
    for case, due in ((p1, now + timedelta(hours=1)), (p2, now + timedelta(hours=3))):
        running_target(case, due)
    running_target(overdue, now - timedelta(minutes=5))
    # Not in it: a P3; an answered P1 waiting for its next update; a paused first
    # response; a P1 without any target (no plan).
    running_target(CaseFactory(priority=Priority.P3), now + timedelta(hours=1))
    answered = running_target(
        CaseFactory(priority=Priority.P1, open=True), now + timedelta(hours=1)
    )
    ResponseTarget.objects.filter(pk=answered.pk).update(kind=TargetKind.NEXT_UPDATE)
    running_target(
        CaseFactory(priority=Priority.P2, pending_customer=True),
        now + timedelta(hours=1),
        outcome=TargetOutcome.PAUSED,
    )
    CaseFactory(priority=Priority.P1)
    assert listed(engineer_client, "unanswered") == {p1.pk, p2.pk, overdue.pk}


def test_breaching_within_the_hour_includes_what_is_already_overdue(engineer_client, frozen):
    now = timezone.now()
    cases = {name: CaseFactory(open=True) for name in ("overdue", "soon", "edge", "later")}
    running_target(cases["overdue"], now - timedelta(days=2))
    running_target(cases["soon"], now + timedelta(minutes=10))
    running_target(cases["edge"], now + timedelta(minutes=59, seconds=59))
    running_target(cases["later"], now + timedelta(minutes=60))
    running_target(
        CaseFactory(pending_customer=True),
        now - timedelta(minutes=5),
        outcome=TargetOutcome.PAUSED,
    )
    CaseFactory()  # no target
    expected = {cases[name].pk for name in ("overdue", "soon", "edge")}
    assert listed(engineer_client, "breaching") == expected
    # An hour on, the one due at the hour is in it too.
    frozen.shift(timedelta(minutes=1))
    assert listed(engineer_client, "breaching") == expected | {cases["later"].pk}


def test_waiting_on_customer_is_pending_for_more_than_seven_days(engineer_client, frozen):
    now = timezone.now()
    long = CaseFactory(pending_customer=True, pending_since=now - timedelta(days=7, hours=1))
    CaseFactory(pending_customer=True, pending_since=now - timedelta(days=6, hours=23))
    # Pending since long ago, but answered since: not waiting any more.
    CaseFactory(open=True, pending_since=None)
    assert listed(engineer_client, "waiting") == {long.pk}


def test_reopened_this_week_reads_the_history(engineer_client, engineer, frozen):
    now = timezone.now()
    this_week = CaseFactory(resolved=True, engineer=engineer)
    last_week = CaseFactory(closed=True, engineer=engineer)
    frozen.move_to(now - timedelta(days=8), tick=False)
    services.case_reopen(case=last_week, actor=last_week.requester)
    frozen.move_to(now - timedelta(days=3), tick=False)
    services.case_reopen(case=this_week, actor=this_week.requester)
    # Active this week, never reopened.
    CaseFactory(open=True, engineer=engineer)
    frozen.move_to(now, tick=False)
    # The one reopened last week was worked on since: still not reopened this week.
    services.case_reply(case=last_week, author=engineer, body="Looking at it.")
    assert listed(engineer_client, "reopened") == {this_week.pk}
    frozen.shift(timedelta(days=4, minutes=1))
    assert listed(engineer_client, "reopened") == set()


def test_one_query_counts_every_queue(engineer, frozen):
    now = timezone.now()
    running_target(CaseFactory(priority=Priority.P1), now + timedelta(minutes=30))
    CaseFactory(open=True, engineer=engineer)
    with CaptureQueriesContext(connection) as counted:
        counts = queues.queue_counts(engineer)
    assert len(counted) == 1
    assert counts == {
        "mine": 1,
        "unassigned": 1,
        "unanswered": 1,
        "breaching": 1,
        "waiting": 0,
        "reopened": 0,
    }


def test_a_big_queue_is_counted_up_to_a_limit(engineer_client, monkeypatch):
    monkeypatch.setattr(queues, "COUNT_LIMIT", 2)
    for _ in range(4):
        CaseFactory()
    response = engineer_client.get(CHANGELIST)
    link = next(link for link in response.context["queues"] if link.queue.slug == "unassigned")
    assert (link.count, link.count_text) == (3, "2+")
    assert 'data-queue="unassigned"' in response.content.decode()


def test_the_sidebar_links_each_queue_and_marks_the_one_shown(engineer_client):
    CaseFactory()
    response = engineer_client.get(CHANGELIST)
    content = response.content.decode()
    assert "Queues" in content
    for each in queues.QUEUES:
        assert f'data-queue="{each.slug}"' in content
        assert each.label.replace(">", "&gt;") in content
    assert '" aria-current="page"><span class="case-queue-label">' not in content
    assert not any(link.active for link in response.context["queues"])

    response = engineer_client.get(CHANGELIST, {"status__exact": "new", "assignee": "unassigned"})
    active = [link.queue.slug for link in response.context["queues"] if link.active]
    assert active == ["unassigned"]
    content = response.content.decode()
    assert content.count('" aria-current="page"><span class="case-queue-label">') == 1
    assert 'data-queue="unassigned" aria-current="page"' in content
    # Searching or paging within a queue keeps it marked; another filter does not.
    response = engineer_client.get(
        CHANGELIST, {"status__exact": "new", "assignee": "unassigned", "q": "subject"}
    )
    assert [link.queue.slug for link in response.context["queues"] if link.active] == [
        "unassigned"
    ]
    response = engineer_client.get(
        CHANGELIST, {"status__exact": "new", "assignee": "unassigned", "priority__exact": "1"}
    )
    assert not any(link.active for link in response.context["queues"])


def test_queues_that_wait_on_a_target_are_sorted_by_it(engineer_client):
    response = engineer_client.get(CHANGELIST)
    next_due = str(response.context["cl"].list_display.index("next_target"))
    links = {link.queue.slug: link.url for link in response.context["queues"]}
    assert f"o={next_due}" in links["breaching"]
    assert f"o={next_due}" in links["unanswered"]
    assert "o=" not in links["mine"]
    response = engineer_client.get(CHANGELIST + links["breaching"])
    assert [link.queue.slug for link in response.context["queues"] if link.active] == ["breaching"]


@pytest.mark.parametrize(
    "query",
    [
        {"reopened_days": "abc"},
        {"reopened_days": "0"},
        {"reopened_days": "99999999"},
        {"open": "maybe"},
        {"first_response": "x"},
        {"next_target": "soon"},
    ],
)
def test_a_bad_queue_value_is_the_list_unfiltered_not_an_error(engineer_client, query):
    response = engineer_client.get(CHANGELIST, query)
    # Django's answer to a bad filter value: back to the list with ?e=1.
    assert response.status_code == 302
    assert response["Location"].endswith("?e=1")


def test_the_list_with_queues_stays_within_a_fixed_number_of_queries(
    engineer_client, engineer, django_assert_max_num_queries
):
    now = timezone.now()
    for number in range(40):
        case = CaseFactory(
            priority=Priority.P1 if number % 2 else Priority.P3,
            open=bool(number % 3),
            engineer=engineer,
        )
        running_target(case, now + timedelta(minutes=5 * (number - 10)))
    for each in queues.QUEUES:
        with django_assert_max_num_queries(13):
            response = engineer_client.get(CHANGELIST, each.params)
        assert response.status_code == 200, each.slug


def test_another_engineers_mine_is_theirs(client, engineer):
    colleague = EngineerFactory()
    CaseFactory(open=True, engineer=engineer)
    CaseFactory(open=True, engineer=colleague)
    CaseFactory(in_progress=True, engineer=colleague)
    client.force_login(colleague)
    response = client.get(CHANGELIST, queue("mine").params)
    assert {case.assignee_id for case in response.context["cl"].result_list} == {colleague.pk}
    link = next(link for link in response.context["queues"] if link.queue.slug == "mine")
    assert link.count == 2
    assert Status.OPEN in {case.status for case in response.context["cl"].result_list}


def test_the_shortcuts_script_is_loaded_on_the_list_and_the_case_page(engineer_client):
    case = CaseFactory()
    for url in (CHANGELIST, f"{CHANGELIST}{case.pk}/change/"):
        response = engineer_client.get(url)
        content = response.content.decode()
        nonce = response.context["csp_nonce"]
        # External and under the page's nonce, as the admin loads its own scripts.
        assert 'src="/static/js/admin-shortcuts.js" data-stylesheet=' in content, url
        assert f'defer nonce="{nonce}"></script>' in content, url
        assert "nonce-" in response["Content-Security-Policy"]


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="the plan is PostgreSQL's")
def test_every_queue_but_reopened_is_counted_from_an_index(engineer):
    running_target(CaseFactory(priority=Priority.P1), timezone.now() + timedelta(minutes=5))
    CaseFactory(pending_customer=True, engineer=engineer)
    now = timezone.now()
    with connection.cursor() as cursor:
        # A tiny table is read whole whatever its indexes: ask for the plan with index.
        cursor.execute("SET LOCAL enable_seqscan = off")
        for each in queues.QUEUES:
            if each.slug == "reopened":
                continue  # the history has no index for it (see queues.reopened_since)
            counted = queues._queryset(each).filter(each.selects(engineer, now))
            plan = counted.values("pk").order_by()[: queues.COUNT_LIMIT + 1].explain()
            assert "Seq Scan" not in plan, (each.slug, plan)
