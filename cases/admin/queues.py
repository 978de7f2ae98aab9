"""Queues: the case list's saved views, each a plain filter URL an engineer can bookmark.

A queue is a set of the list's own query parameters (its filters), so the filter
column shows what it selects and any other filter narrows it further. The sidebar
counts every queue in one query: each count is a scalar subquery, read from an index
where one serves (see the comments on `QUEUES`; Reopened reads the history whole), and
stops at `COUNT_LIMIT` so a queue that grew large costs no more than a small one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.db import connections
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from cases.models import (
    OPEN_STATUSES,
    Case,
    CaseEvent,
    Priority,
    ResponseTarget,
    Status,
    TargetKind,
    TargetOutcome,
)

# --- What each queue selects (shared by the filters and the counts) -------------------


def open_statuses() -> Q:
    return Q(status__in=OPEN_STATUSES)


def breaching_within(now: datetime, minutes: int = 60) -> Q:
    """A running target due within the next `minutes`, or already overdue (needs the
    queryset's `with_response_due`)."""
    return Q(response_due_at__lt=now + timedelta(minutes=minutes))


def first_response_running() -> Q:
    """Not answered yet: the case's running target is its first response."""
    running = ResponseTarget.objects.filter(
        case=OuterRef("pk"), outcome=TargetOutcome.RUNNING, kind=TargetKind.FIRST_RESPONSE
    )
    return Q(Exists(running))


def reopened_since(since: datetime) -> Q:
    """A Reopen entry in the history since `since`.

    The history has no index for this question (`event_case_created` starts with the
    case): the count reads the whole history table, about 100 ms at a million entries.
    A partial index on `created_at` where `transition = 'reopen'` would make it an
    index read; it needs a migration of its own.
    """
    reopens = CaseEvent.objects.filter(
        case=OuterRef("pk"), transition="reopen", created_at__gte=since
    )
    return Q(Exists(reopens))


def _days_value(value: str, limit: int) -> int:
    """A number of days typed into a URL (ASCII digits, at most `limit`)."""
    if value.isascii() and value.isdigit() and len(value) <= 6 and 0 < int(value) <= limit:
        return int(value)
    raise IncorrectLookupParameters(f"Not a number of days: {value!r}")


# --- Filters the queues need beyond the list's others ---------------------------------


class OpenStatusFilter(admin.SimpleListFilter):
    title = "open or done"
    parameter_name = "open"

    def lookups(self, request, model_admin):
        return [("yes", "Open (New to Pending Customer)"), ("no", "Resolved or closed")]

    def queryset(self, request, queryset):
        value = self.value()
        if value == "yes":
            return queryset.filter(open_statuses())
        if value == "no":
            return queryset.exclude(open_statuses())
        if value:
            raise IncorrectLookupParameters(f"Not open or done: {value!r}")
        return queryset


class FirstResponseFilter(admin.SimpleListFilter):
    title = "first response"
    parameter_name = "first_response"

    def lookups(self, request, model_admin):
        return [("waiting", "Not yet answered")]

    def queryset(self, request, queryset):
        value = self.value()
        if value == "waiting":
            return queryset.filter(first_response_running())
        if value:
            raise IncorrectLookupParameters(f"Not a first-response filter: {value!r}")
        return queryset


class ReopenedFilter(admin.SimpleListFilter):
    title = "reopened"
    parameter_name = "reopened_days"
    DAYS = (1, 7, 30)
    MAX_DAYS = 3_650

    def lookups(self, request, model_admin):
        return [
            (str(days), "In the last 24 hours" if days == 1 else f"In the last {days} days")
            for days in self.DAYS
        ]

    def queryset(self, request, queryset):
        value = self.value()
        if not value:
            return queryset
        days = _days_value(value, self.MAX_DAYS)
        return queryset.filter(reopened_since(timezone.now() - timedelta(days=days)))


# --- The queues -------------------------------------------------------------------------


@dataclass(frozen=True)
class Queue:
    slug: str
    label: str
    # The list's query parameters ("mine" is whoever reads the list).
    params: dict[str, str]
    # The same selection for the count: (user, now) -> Q on `with_response_due()`.
    selects: Callable[[object, datetime], Q]
    # Listed by next target (the due time first) rather than by latest activity.
    by_next_target: bool = False
    # Whether `selects` reads `response_due_at` (the join to the running target).
    reads_due_time: bool = False


URGENT = f"{Priority.P1.value},{Priority.P2.value}"

QUEUES: tuple[Queue, ...] = (
    # Counted from case_assignee_status alone.
    Queue(
        "mine",
        "Mine (open)",
        {"assignee": "mine", "open": "yes"},
        lambda user, now: Q(assignee_id=user.pk) & open_statuses(),
    ),
    # Counted from case_assignee_status alone (no assignee, New).
    Queue(
        "unassigned",
        "Unassigned",
        {"status__exact": Status.NEW.value, "assignee": "unassigned"},
        lambda user, now: Q(status=Status.NEW, assignee__isnull=True),
    ),
    # Cases and their open target (response_target_one_open_per_case), both by case.
    Queue(
        "unanswered",
        "P1/P2 not yet answered",
        {"priority__in": URGENT, "first_response": "waiting"},
        lambda user, now: Q(priority__in=[Priority.P1, Priority.P2]) & first_response_running(),
        by_next_target=True,
    ),
    # The running targets by case, joined to the cases' keys.
    Queue(
        "breaching",
        "Breaching within the hour",
        {"next_target": "breaching"},
        lambda user, now: breaching_within(now),
        by_next_target=True,
        reads_due_time=True,
    ),
    # Counted from case_pending_clock alone.
    Queue(
        "waiting",
        "Waiting on customer > 7 days",
        {"waiting_days": "7"},
        lambda user, now: Q(
            status=Status.PENDING_CUSTOMER, pending_since__lte=now - timedelta(days=7)
        ),
    ),
    # The history read whole: see reopened_since.
    Queue(
        "reopened",
        "Reopened this week",
        {"reopened_days": "7"},
        lambda user, now: reopened_since(now - timedelta(days=7)),
    ),
)

# A count stops here: the sidebar says "1000+" rather than read a big queue to its end.
COUNT_LIMIT = 1000


def queue_counts(user, now: datetime | None = None) -> dict[str, int]:
    """Each queue's number of cases, up to COUNT_LIMIT + 1, in one query."""
    now = now or timezone.now()
    parts, params = [], []
    for queue in QUEUES:
        bounded = _queryset(queue).filter(queue.selects(user, now)).values("pk")
        bounded = bounded.order_by()[: COUNT_LIMIT + 1]
        sql, sql_params = bounded.query.sql_with_params()
        # The ORM's SQL with its parameters apart; the alias is one of our slugs.
        parts.append(f"(SELECT COUNT(*) FROM ({sql}) AS {queue.slug}_cases)")  # noqa: S608
        params.extend(sql_params)
    with connections[Case.objects.db].cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(parts)}", params)
        row = cursor.fetchone()
    return {queue.slug: count for queue, count in zip(QUEUES, row, strict=True)}


def count_text(count: int) -> str:
    return f"{COUNT_LIMIT}+" if count > COUNT_LIMIT else str(count)


@dataclass(frozen=True)
class QueueLink:
    queue: Queue
    url: str
    count: int
    count_text: str
    active: bool


def _filter_params(params: dict) -> dict[str, tuple[str, ...]]:
    return {name: tuple(values) for name, values in params.items()}


def queue_links(changelist, user, now: datetime | None = None) -> list[QueueLink]:
    """The sidebar's links: each queue's URL on this list, its count, and whether the
    list shows it now (its filters exactly; the search, sort and page may differ)."""
    counts = queue_counts(user, now)
    current = _filter_params(changelist.get_filters_params())
    sort_by = _next_target_sort(changelist)
    links = []
    for queue in QUEUES:
        query = dict(queue.params)
        if queue.by_next_target and sort_by:
            query["o"] = sort_by
        count = counts[queue.slug]
        links.append(
            QueueLink(
                queue=queue,
                url=f"?{urlencode(query)}",
                count=count,
                count_text=count_text(count),
                active=current == {name: (value,) for name, value in queue.params.items()},
            )
        )
    return links


def _next_target_sort(changelist) -> str:
    """The list's `o` value that sorts by next target, if the column is shown."""
    if "next_target" not in changelist.list_display:
        return ""
    return str(changelist.list_display.index("next_target"))


def _queryset(queue: Queue) -> QuerySet:
    # The join to the running target only where the queue reads its due time.
    return Case.objects.with_response_due() if queue.reads_due_time else Case.objects.all()
