"""The benchmark's data set, built with bulk inserts (COPY on PostgreSQL).

The standard scale is 200,000 cases from 2,000 customers in 200 organisations (one
customer in ten may see their organisation's cases): one customer has 10,000 of them (one of those with a 50-message thread), every case has
3 messages and its "opened" history entry, every status is represented, and 10,000
cases are already due for the automatic close (half Pending Customer past 14 days,
half Resolved past 7 days). `top_up()` grows the table with cases that are not due
plus a fresh batch of due ones, so the sweep can be timed at several table sizes.

Rows are written directly (no services, no signals): the status field is protected on
instances, so statuses are set at construction or in the COPY itself.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.core.management.color import no_style
from django.db import connection, models, transaction
from django.db.models import Max
from django.utils import timezone

from cases.models import (
    Actor,
    Case,
    CaseEvent,
    InfoRequestKind,
    Message,
    MessageSource,
    Priority,
    Status,
)
from cases.policy import pending_customer_timeout, resolved_timeout
from portal.models import SUPPORT_ENGINEERS_GROUP, Membership, Organisation, User

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
        for model in (User, Membership, Organisation, Case, Message, CaseEvent):
            cursor.execute(f"VACUUM ANALYZE {connection.ops.quote_name(model._meta.db_table)}")


# --- People ---------------------------------------------------------------------------


def _people(scale: Scale, now: datetime) -> tuple[list[int], list[int], dict[int, int]]:
    """Organisations, customers (the first is the big one) and engineers."""
    password = make_password(PASSWORD)
    org_start = _next_id(Organisation)
    _insert(
        Organisation,
        ["id", "name", "time_zone", "holiday_country", "created_at"],
        (
            (org_start + n, f"Bench organisation {org_start + n:05d}", "", "", now)
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
        ["id", "user_id", "organisation_id", "can_view_organisation_cases", "created_at"],
        (
            (membership_start + n, pk, org_start + n % scale.organisations, n % 10 == 0, now)
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
]


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
    """Cases, their thread and their "opened" history entry. Returns (first id, cases, messages)."""
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
    _insert(Case, CASE_FIELDS, rows)
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
    _reset_sequences(Case, Message, CaseEvent)
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
