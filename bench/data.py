"""The benchmark's data set, built with bulk inserts (COPY on PostgreSQL).

The standard scale is 200,000 cases from 2,000 customers in 200 organisations (one
customer in ten may see their organisation's cases): one customer has 10,000 of them (one of those with a 50-message thread), every case has
3 messages and its "opened" history entry, every status is represented, and 10,000
cases are already due for the automatic close (half Pending Customer past 14 days,
half Resolved past 7 days). `top_up()` grows the table with cases that are not due
plus a fresh batch of due ones, so the sweep can be timed at several table sizes.

Organisations are spread over the three seeded plans and over time zones with their
public holidays. Every case that is not closed carries its open response target, as
`cases.service_levels` would have left it: running (its due time is the case's) while
the case waits on us, some already breached, some due soon, most later; paused on
Pending Customer and Resolved. Closed cases carry their first response, met or missed,
for the report.

Rows are written directly (no services, no signals): the status field is protected on
instances, so statuses are set at construction or in the COPY itself.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.core.management.color import no_style
from django.db import connection, models, transaction
from django.db.models import Max
from django.utils import timezone

from cases.coverage import CLOSES, OPENS
from cases.coverage import Coverage as CoverageClock
from cases.models import (
    Actor,
    Case,
    CaseEvent,
    Coverage,
    InfoRequestKind,
    Message,
    MessageSource,
    Plan,
    Priority,
    ResponseTarget,
    Status,
    TargetKind,
    TargetOutcome,
)
from cases.policy import pending_customer_timeout, resolved_timeout
from portal.models import SUPPORT_ENGINEERS_GROUP, Membership, Organisation, Role, User

PASSWORD = "bench-password-not-for-production"
BIG_CUSTOMER_EMAIL = "big-customer@bench.example.com"
ENGINEER_EMAIL = "engineer-0@bench.example.com"

# Share of cases in each status among those that are not due (they add up to 1).
STATUS_WEIGHTS = {
    Status.NEW: 0.10,
    Status.OPEN: 0.15,
    Status.IN_PROGRESS: 0.15,
    Status.PENDING_CUSTOMER: 0.10,
    Status.RESOLVED: 0.10,
    Status.CLOSED: 0.40,
}

# Subjects as customers write them: a symptom and where it happens. Engineers search
# by pasting one, so the words are as common as in real support mail, not all alike.
SYMPTOMS = [
    "Kubernetes node NotReady after upgrade",
    "Terraform state lock not released",
    "Nightly backup job failed",
    "Dashboard slow after upgrade",
    "Cannot pull images from the registry",
    "Certificate renewal failed",
    "Database failover did not complete",
    "Ingress returns 502 under load",
    "Persistent volume stuck in Terminating",
    "Alert storm from monitoring",
    "API rate limit exceeded",
    "SSO login loop",
    "Question about our invoice",
    "Please add a team member",
    "VPN tunnel drops every hour",
    "Disk pressure on worker nodes",
    "DNS resolution fails intermittently",
    "Helm release stuck in pending-upgrade",
    "Snapshot restore very slow",
    "Logs arrive hours late",
]
SYSTEMS = ["prod-eu", "prod-us", "staging", "dev", "analytics", "payments", "edge-ap", "ci"]


def subject(rng: random.Random) -> str:
    return f"{rng.choice(SYMPTOMS)} on {rng.choice(SYSTEMS)}-{rng.randrange(1, 500)}"


BODY = (
    "Since the upgrade the dashboard takes a long time to load for our team and the "
    "export job times out after five minutes. Logs attached to the previous reply. "
)


@dataclass(frozen=True)
class Scale:
    cases: int = 200_000
    customers: int = 2_000
    organisations: int = 200
    big_customer_cases: int = 10_000
    messages_per_case: int = 3
    due_cases: int = 10_000
    long_thread_messages: int = 50
    engineers: int = 20


STANDARD = Scale()


@dataclass
class Dataset:
    big_customer_id: int
    engineer_id: int
    long_thread_case_id: int
    cases: int
    due_cases: int
    messages: int
    counts_by_status: dict[str, int] = field(default_factory=dict)


# --- Writing rows ---------------------------------------------------------------------


def _next_id(model: type[models.Model]) -> int:
    return (model.objects.aggregate(top=Max("pk"))["top"] or 0) + 1


def _insert(model: type[models.Model], fields: list[str], rows: Iterable[tuple]) -> int:
    """Write rows (values in `fields` order, attnames) as fast as the database allows."""
    written = 0
    if connection.vendor == "postgresql":
        columns = ", ".join(
            connection.ops.quote_name(model._meta.get_field(name).column) for name in fields
        )
        table = connection.ops.quote_name(model._meta.db_table)
        with connection.cursor() as cursor:
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
                    written += 1
        return written
    batch: list[models.Model] = []
    for row in rows:
        batch.append(model(**dict(zip(fields, row, strict=True))))
        if len(batch) >= 2_000:
            model.objects.bulk_create(batch)
            written += len(batch)
            batch = []
    model.objects.bulk_create(batch)
    return written + len(batch)


def _reset_sequences(*model_classes: type[models.Model]) -> None:
    statements = connection.ops.sequence_reset_sql(no_style(), list(model_classes))
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


def analyze() -> None:
    """Fresh planner statistics and visibility map, as autovacuum keeps them in production."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for model in (User, Membership, Organisation, Case, Message, CaseEvent, ResponseTarget):
            cursor.execute(f"VACUUM ANALYZE {connection.ops.quote_name(model._meta.db_table)}")


# --- People ---------------------------------------------------------------------------


def _people(scale: Scale, now: datetime) -> tuple[list[int], list[int], dict[int, int]]:
    """Organisations, customers (the first is the big one) and engineers."""
    password = make_password(PASSWORD)
    org_start = _next_id(Organisation)
    plans = list(Plan.objects.order_by("position", "pk").values_list("pk", flat=True))
    _insert(
        Organisation,
        ["id", "name", "plan_id", "time_zone", "holiday_country", "created_at"],
        (
            (
                org_start + n,
                f"Bench organisation {org_start + n:05d}",
                _plan_of(n, plans),
                *PLACES[n % len(PLACES)],
                now,
            )
            for n in range(scale.organisations)
        ),
    )
    user_start = _next_id(User)
    customer_ids = [user_start + n for n in range(scale.customers)]
    engineer_ids = [user_start + scale.customers + n for n in range(scale.engineers)]
    user_fields = [
        "id",
        "password",
        "is_superuser",
        "email",
        "is_staff",
        "is_active",
        "date_joined",
        "full_name",
    ]

    def users() -> Iterator[tuple]:
        for n, pk in enumerate(customer_ids):
            email = BIG_CUSTOMER_EMAIL if n == 0 else f"customer-{pk}@bench.example.com"
            yield (pk, password, False, email, False, True, now, f"Customer {pk}")
        for n, pk in enumerate(engineer_ids):
            email = ENGINEER_EMAIL if n == 0 else f"engineer-{pk}@bench.example.com"
            yield (pk, password, False, email, True, True, now, f"Engineer {pk}")

    _insert(User, user_fields, users())
    membership_start = _next_id(Membership)
    _insert(
        Membership,
        ["id", "user_id", "organisation_id", "role", "created_at"],
        (
            (
                membership_start + n,
                pk,
                org_start + n % scale.organisations,
                Role.ADMIN if n % 10 == 0 else Role.MEMBER,
                now,
            )
            for n, pk in enumerate(customer_ids)
        ),
    )
    # Made by a migration; tests that flush the database may have removed it.
    group, _ = Group.objects.get_or_create(name=SUPPORT_ENGINEERS_GROUP)
    Through = User.groups.through
    through_start = _next_id(Through)
    _insert(
        Through,
        ["id", "user_id", "group_id"],
        ((through_start + n, pk, group.pk) for n, pk in enumerate(engineer_ids)),
    )
    _reset_sequences(Organisation, User, Membership, Through)
    organisation_of = {
        pk: org_start + n % scale.organisations for n, pk in enumerate(customer_ids)
    }
    return customer_ids, engineer_ids, organisation_of


def _plan_of(n: int, plans: list[int]) -> int | None:
    """The n-th organisation's plan: the seeded plans in turn, and every sixth
    organisation on none (so on the default plan)."""
    if not plans or n % 6 == 3:
        return None
    return plans[n % len(plans)]


# Where the organisations are: a time zone and the country whose public holidays are
# not business days; ("", "") is the portal's own zone without holidays.
PLACES = [
    ("Europe/Paris", "FR"),
    ("America/New_York", "US"),
    ("Europe/London", "GB"),
    ("Asia/Tokyo", "JP"),
    ("Australia/Sydney", "AU"),
    ("", ""),
    ("Europe/Berlin", "DE"),
]


# --- Cases ----------------------------------------------------------------------------

CASE_FIELDS = [
    "id",
    "subject",
    "description",
    "priority",
    "requester_id",
    "organisation_id",
    "assignee_id",
    "original_engineer_id",
    "status",
    "return_status",
    "info_request_kind",
    "pending_since",
    "resolved_at",
    "closed_at",
    "auto_close_held_reason",
    "created_at",
    "updated_at",
    "last_activity_at",
    "last_customer_activity_at",
    "first_response_at",
]


# --- Response targets -----------------------------------------------------------------

TARGET_FIELDS = [
    "id",
    "case_id",
    "kind",
    "plan_id",
    "priority",
    "coverage",
    "target",
    "started_at",
    "run_started_at",
    "covered_before_run",
    "due_at",
    "warn_at",
    "warned_at",
    "breached_at",
    "ended_at",
    "outcome",
]
WAITING_ON_US = frozenset({Status.NEW, Status.OPEN, Status.IN_PROGRESS})


def _covered_back(clock: CoverageClock, end: datetime, covered: timedelta) -> datetime:
    """The moment from which `covered` time inside the clock's coverage has passed by
    `end`: `due_after` walked backwards, to start targets that have used so much."""
    if not clock.business_hours:
        return end - covered
    end = end.astimezone(UTC)
    day = end.astimezone(clock.zone).date()
    while True:
        if clock._is_working_day(day):
            opens = datetime.combine(day, OPENS, tzinfo=clock.zone).astimezone(UTC)
            closes = datetime.combine(day, CLOSES, tzinfo=clock.zone).astimezone(UTC)
            finish = min(closes, end)
            if finish > opens:
                if covered <= finish - opens:
                    return finish - covered
                covered -= finish - opens
        day -= timedelta(days=1)


@dataclass(frozen=True)
class _Promise:
    plan_id: int
    first_response: timedelta
    next_update: timedelta
    coverage: str
    clock: CoverageClock


class _Policy:
    """What each organisation's cases are promised, per priority: read once, with one
    coverage clock per (coverage, zone, country) shared by all the organisations there."""

    def __init__(self, organisation_ids: Iterable[int]):
        from cases.models import PlanTarget

        default = Plan.objects.default()
        by_plan: dict[int, list] = {}
        for target in PlanTarget.objects.all():
            by_plan.setdefault(target.plan_id, []).append(target)
        clocks: dict[tuple, CoverageClock] = {}
        self.promises: dict[tuple[int, int], _Promise] = {}
        for organisation in Organisation.objects.filter(pk__in=set(organisation_ids)):
            plan_id = organisation.plan_id or (default.pk if default else None)
            for target in by_plan.get(plan_id, []):
                business = target.coverage == Coverage.BUSINESS_HOURS
                key = (business, organisation.time_zone, organisation.holiday_country)
                if key not in clocks:
                    clocks[key] = organisation.coverage(business_hours=business)
                self.promises[(organisation.pk, target.priority)] = _Promise(
                    plan_id,
                    target.first_response,
                    target.next_update,
                    target.coverage,
                    clocks[key],
                )
        self.warn_fraction = settings.SERVICE_LEVEL_WARN_AT_PERCENT / 100


def _target(
    row: tuple, *, policy: _Policy, now: datetime, rng: random.Random
) -> tuple[tuple | None, datetime | None, datetime | None]:
    """A case's target row (without its id), its first response and its due time.

    A case waiting on us has a running target: one in ten already breached, one in
    seven past its warning and due soon, the rest later. Pending Customer and Resolved
    hold a paused one, with part of the covered time used. A closed case keeps its
    first response, met nine times in ten.
    """
    priority, engineer, status = row[3], row[6], row[8]
    pending_since, resolved_at, closed_at, created = row[11], row[12], row[13], row[15]
    promise = policy.promises.get((row[5], priority))
    if promise is None:
        return None, None, None
    clock = promise.clock
    terms = (promise.plan_id, priority, promise.coverage)
    if status == Status.CLOSED:
        duration = promise.first_response
        due = clock.due_after(created, duration)
        if rng.random() < 0.9 or due >= closed_at:
            # Answered within the promised covered time: no later than that in wall time.
            ended = created + min(duration, closed_at - created) * rng.uniform(0.05, 1.0)
            outcome, breached = TargetOutcome.MET, None
        else:
            ended = min(due + (due - created) * rng.uniform(0.05, 0.5), closed_at)
            outcome, breached = TargetOutcome.MISSED, due
        target = (TargetKind.FIRST_RESPONSE, *terms, duration, created, created, timedelta(0))
        return (*target, None, None, None, breached, ended, outcome), ended, None
    first_response_at = None
    kind = TargetKind.FIRST_RESPONSE
    started_after = created
    if engineer is not None and rng.random() < 0.5:
        first_response_at = started_after = created + timedelta(minutes=10)
        kind = TargetKind.NEXT_UPDATE
    duration = promise.first_response if kind == TargetKind.FIRST_RESPONSE else promise.next_update
    if status in WAITING_ON_US:
        roll = rng.random()
        used = (
            rng.uniform(1.0, 3.0)
            if roll < 0.1
            else rng.uniform(0.75, 1.0)
            if roll < 0.25
            else rng.uniform(0.0, 0.75)
        )
        started = max(_covered_back(clock, now, duration * used), started_after)
        due = clock.due_after(started, duration)
        warn = clock.due_after(started, duration * policy.warn_fraction)
        target = (kind, *terms, duration, started, started, timedelta(0), due, warn)
        warned = warn if warn <= now else None
        breached = due if due <= now else None
        return (*target, warned, breached, None, TargetOutcome.RUNNING), first_response_at, due
    # Paused while the customer has the case, with less than the warning's share used.
    paused_at = pending_since or resolved_at
    used = duration * rng.uniform(0.0, min(0.7, policy.warn_fraction))
    started = max(_covered_back(clock, paused_at, used), started_after)
    target = (kind, *terms, duration, started, started, used, None, None)
    return (*target, None, None, None, TargetOutcome.PAUSED), first_response_at, None


@dataclass(frozen=True)
class _CaseSpec:
    requester_id: int
    status: str
    due: bool = False


def _case_row(
    pk: int,
    spec: _CaseSpec,
    *,
    organisation_id: int,
    engineer_ids: list[int],
    now: datetime,
    rng: random.Random,
) -> tuple:
    status = spec.status
    engineer = None if status == Status.NEW else rng.choice(engineer_ids)
    pending_since = resolved_at = closed_at = None
    return_status = info_kind = ""
    if status == Status.PENDING_CUSTOMER:
        # Due cases are past the 14-day clock; the others are inside it.
        age = (
            pending_customer_timeout() + timedelta(days=rng.uniform(1, 30))
            if spec.due
            else timedelta(days=rng.uniform(0, 13))
        )
        pending_since = now - age
        last_activity = pending_since
        return_status = rng.choice([Status.OPEN, Status.IN_PROGRESS])
        info_kind = rng.choice(InfoRequestKind.values)
    elif status == Status.RESOLVED:
        age = (
            resolved_timeout() + timedelta(days=rng.uniform(1, 30))
            if spec.due
            else timedelta(days=rng.uniform(0, 6))
        )
        resolved_at = now - age
        last_activity = resolved_at
    else:
        last_activity = now - timedelta(days=rng.uniform(0, 720))
        if status == Status.CLOSED:
            closed_at = last_activity
    created_at = last_activity - timedelta(days=rng.uniform(0, 30))
    return (
        pk,
        subject(rng),
        BODY,
        rng.choice(Priority.values),
        spec.requester_id,
        organisation_id,
        engineer,
        engineer,
        status,
        return_status,
        info_kind,
        pending_since,
        resolved_at,
        closed_at,
        "",
        created_at,
        last_activity,
        last_activity,
        created_at,
    )


def _specs(
    *,
    total: int,
    due: int,
    big_customer_id: int | None,
    big_cases: int,
    customer_ids: list[int],
    rng: random.Random,
) -> list[_CaseSpec]:
    statuses = list(STATUS_WEIGHTS)
    weights = list(STATUS_WEIGHTS.values())
    others = [pk for pk in customer_ids if pk != big_customer_id]
    specs: list[_CaseSpec] = []
    regular = total - due
    # The big customer's cases cycle through every status so each filter has rows.
    for n in range(min(big_cases, regular)):
        status = rng.choices(statuses, weights)[0] if n >= len(statuses) else statuses[n]
        specs.append(_CaseSpec(big_customer_id, status))  # type: ignore[arg-type]
    for n in range(regular - len(specs)):
        status = rng.choices(statuses, weights)[0] if n >= len(statuses) else statuses[n]
        specs.append(_CaseSpec(others[n % len(others)], status))
    for n in range(due):
        status = Status.PENDING_CUSTOMER if n % 2 == 0 else Status.RESOLVED
        specs.append(_CaseSpec(others[rng.randrange(len(others))], status, due=True))
    # Due cases are scattered through the table, as old cases are in production.
    rng.shuffle(specs)
    return specs


def _write_cases(
    specs: list[_CaseSpec],
    *,
    organisation_of: dict[int, int],
    engineer_ids: list[int],
    now: datetime,
    rng: random.Random,
    messages_per_case: int,
    long_thread: tuple[int, int] | None = None,
) -> tuple[int, int, int]:
    """Cases, their thread, their "opened" history entry and their response targets.
    Returns (first id, cases, messages)."""
    case_start = _next_id(Case)
    rows = [
        _case_row(
            case_start + n,
            spec,
            organisation_id=organisation_of[spec.requester_id],
            engineer_ids=engineer_ids,
            now=now,
            rng=rng,
        )
        for n, spec in enumerate(specs)
    ]
    # Their own random numbers, so the cases are the same with or without targets.
    target_rng = random.Random(rng.random())
    policy = _Policy(organisation_of.values())
    target_start = _next_id(ResponseTarget)
    targets: list[tuple] = []
    for n, row in enumerate(rows):
        target, first_response_at, _due = _target(row, policy=policy, now=now, rng=target_rng)
        rows[n] = (*row, first_response_at)
        if target is not None:
            targets.append((target_start + len(targets), row[0], *target))
    _insert(Case, CASE_FIELDS, rows)
    _insert(ResponseTarget, TARGET_FIELDS, targets)
    written_messages = 0
    if messages_per_case or long_thread:
        long_index, long_count = long_thread if long_thread else (-1, 0)
        # Asked before the COPY starts: the connection is busy while it runs.
        message_start = _next_id(Message)

        def messages() -> Iterator[tuple]:
            pk = message_start
            for n, row in enumerate(rows):
                case_id, requester, engineer, created = row[0], row[4], row[6], row[15]
                count = long_count if n == long_index else messages_per_case
                for k in range(count):
                    from_customer = k % 2 == 0 or engineer is None
                    yield (
                        pk,
                        case_id,
                        requester if from_customer else engineer,
                        f"Message {k + 1} on this case. {BODY}",
                        False,
                        Actor.CUSTOMER if from_customer else Actor.ENGINEER,
                        MessageSource.WEB if from_customer else MessageSource.ADMIN,
                        "",
                        "",
                        created + timedelta(minutes=10 * k),
                    )
                    pk += 1

        written_messages = _insert(
            Message,
            [
                "id",
                "case_id",
                "author_id",
                "body",
                "is_internal",
                "author_kind",
                "source",
                "info_request_kind",
                "email_message_id",
                "created_at",
            ],
            messages(),
        )
    event_start = _next_id(CaseEvent)
    _insert(
        CaseEvent,
        [
            "id",
            "case_id",
            "transition",
            "from_status",
            "to_status",
            "actor_id",
            "actor_kind",
            "reason",
            "created_at",
        ],
        (
            (
                event_start + n,
                row[0],
                "open",
                Status.NEW,
                Status.NEW,
                row[4],
                Actor.CUSTOMER,
                "Case opened",
                row[15],
            )
            for n, row in enumerate(rows)
        ),
    )
    _reset_sequences(Case, Message, CaseEvent, ResponseTarget)
    return case_start, len(rows), written_messages


@transaction.atomic
def build(scale: Scale = STANDARD, *, seed: int = 7) -> Dataset:
    """Write the data set into the current (empty or not) database and describe it."""
    rng = random.Random(seed)
    now = timezone.now()
    customer_ids, engineer_ids, organisation_of = _people(scale, now)
    big_customer_id = customer_ids[0]
    specs = _specs(
        total=scale.cases,
        due=scale.due_cases,
        big_customer_id=big_customer_id,
        big_cases=scale.big_customer_cases,
        customer_ids=customer_ids,
        rng=rng,
    )
    # The long thread belongs to the big customer, on a case that is being worked.
    long_index = next(
        n
        for n, spec in enumerate(specs)
        if spec.requester_id == big_customer_id and spec.status == Status.IN_PROGRESS
    )
    case_start, cases, messages = _write_cases(
        specs,
        organisation_of=organisation_of,
        engineer_ids=engineer_ids,
        now=now,
        rng=rng,
        messages_per_case=scale.messages_per_case,
        long_thread=(long_index, scale.long_thread_messages),
    )
    counts: dict[str, int] = {}
    for spec in specs:
        counts[spec.status] = counts.get(spec.status, 0) + 1
    return Dataset(
        big_customer_id=big_customer_id,
        engineer_id=engineer_ids[0],
        long_thread_case_id=case_start + long_index,
        cases=cases,
        due_cases=scale.due_cases,
        messages=messages,
        counts_by_status=counts,
    )


@transaction.atomic
def top_up(*, total_cases: int, due_cases: int, seed: int = 11) -> int:
    """Grow the table to `total_cases` with cases of other customers, `due_cases` of them due.

    The new cases carry no thread (the sweep never reads it). Returns how many were added.
    """
    rng = random.Random(seed)
    now = timezone.now()
    existing = Case.objects.count()
    add = total_cases - existing
    if add < due_cases:
        raise ValueError(
            f"The table already has {existing} cases; cannot top up to {total_cases}."
        )
    big_customer_id = (
        User.objects.filter(email=BIG_CUSTOMER_EMAIL).values_list("pk", flat=True).first()
    )
    members = dict(
        Membership.objects.filter(user__email__endswith="@bench.example.com").values_list(
            "user_id", "organisation_id"
        )
    )
    engineer_ids = list(
        User.objects.filter(email__startswith="engineer-", is_staff=True).values_list(
            "pk", flat=True
        )
    )
    specs = _specs(
        total=add,
        due=due_cases,
        big_customer_id=big_customer_id,
        big_cases=0,
        customer_ids=list(members),
        rng=rng,
    )
    _, written, _ = _write_cases(
        specs,
        organisation_of=members,
        engineer_ids=engineer_ids,
        now=now,
        rng=rng,
        messages_per_case=0,
    )
    return written
