"""Reads: scoping, ordering and related-object fetching live here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo

from django.db import connection
from django.db.models import Case as DbCase
from django.db.models import (
    Count,
    Exists,
    F,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Value,
    When,
    prefetch_related_objects,
)
from django.db.models.functions import TruncDate, TruncMonth
from django.utils import timezone

from cases.policy import pending_customer_timeout, resolved_timeout

from .models import (
    OPEN_OUTCOMES,
    OPEN_STATUSES,
    Actor,
    Attachment,
    Case,
    CaseEvent,
    CaseParticipant,
    Message,
    Plan,
    PlanTarget,
    PriorityLevel,
    Rating,
    ResponseTarget,
    Status,
    TargetOutcome,
)
from .models.case import customer_membership
from .text import clean_line

# My Cases' own filters beside the statuses: the default shows every case still in play.
ACTIVE = "active"
ALL = "all"
ACTIVE_STATUSES = [value for value in Status.values if value != Status.CLOSED]

# Whose cases My Cases lists: the ones the user opened (the default), the ones shared
# with them, or (organisation admins only) every case of their organisation.
MINE = "mine"
SHARED = "shared"
ORGANISATION = "organisation"
SCOPES = (MINE, SHARED, ORGANISATION)


def customer_scopes(user) -> tuple[str, ...]:
    """The scopes of My Cases `user` may choose."""
    membership = getattr(user, "membership", None) if user.is_authenticated else None
    if membership is not None and membership.is_organisation_admin:
        return SCOPES
    return (MINE, SHARED)


def case_list_for_customer(
    *, user, status: str | None = None, query: str = "", scope: str = MINE
) -> QuerySet[Case]:
    """The cases a customer follows in one scope (`MINE`, `SHARED`, `ORGANISATION`),
    newest activity first.

    `status` is a status, `ACTIVE` (all but Closed) or `ALL` (active ones first, then
    Closed).
    """
    cases = _search(_customer_scope(user=user, scope=scope), query)
    if status == ACTIVE:
        cases = cases.filter(status__in=ACTIVE_STATUSES)
    elif status == ALL:
        closed_last = When(status=Status.CLOSED, then=Value(1))
        return cases.order_by(DbCase(closed_last, default=Value(0)), "-last_activity_at", "-id")
    elif status:
        cases = cases.filter(status=status)
    return cases.order_by("-last_activity_at", "-id")


def _search(cases: QuerySet[Case], query: str) -> QuerySet[Case]:
    """By reference (`CS-1042` or `1042`) or a part of the subject."""
    query = clean_line(query)
    if not query:
        return cases
    pk = Case.pk_from_reference(query)
    return cases.filter(
        Q(subject__icontains=query) | Q(pk=pk) if pk else Q(subject__icontains=query)
    )


# What one row of My Cases shows (see cases.presenters.case_rows).
CASE_ROW_FIELDS = (
    "id",
    "subject",
    "status",
    "priority",
    "requester_id",
    "requester__full_name",
    "requester__email",
    "assignee_id",
    "assignee__full_name",
    "assignee__email",
    "info_request_kind",
    "pending_since",
    "resolved_at",
    "auto_close_held_reason",
    "closed_for_no_reply",
    "last_activity_at",
    "response_due_at",
)


def case_rows_for_customer(**filters) -> QuerySet:
    """`case_list_for_customer` as plain rows: no model instances for a list page."""
    return case_list_for_customer(**filters).with_response_due().values(*CASE_ROW_FIELDS)


def _customer_scope(*, user, scope: str) -> QuerySet[Case]:
    """The cases of one scope of My Cases, all of them cases `user` is a customer of
    (`Case.is_customer`): in their organisation, opened by them, shared with them, or
    any for an organisation admin. A scope the user may not choose is empty.

    One plain filter each (not "mine OR shared OR my organisation's"), so that
    PostgreSQL finds the rows of the counts and the page in activity order by an index:
    the (requester or organisation, status, last activity) indexes of the case, and the
    participants' (user, case) index for the cases shared with them. The organisation
    beside the requester only drops the cases of an organisation the user has left.
    """
    membership = customer_membership(user)
    if membership is None or scope not in customer_scopes(user):
        return Case.objects.none()
    in_organisation = Case.objects.filter(organisation_id=membership.organisation_id)
    if scope == ORGANISATION:
        return in_organisation
    if scope == SHARED:
        # Unique per case and user: the join repeats no case.
        return in_organisation.filter(participants__user=user)
    return in_organisation.filter(requester=user)


def case_status_counts_for_customer(*, user, scope: str = MINE, query: str = "") -> dict[str, int]:
    """Cases per status, among those matching the search (the tabs follow it)."""
    cases = _search(_customer_scope(user=user, scope=scope), query)
    # COUNT(*), not COUNT(id): nothing but the rows the index finds is read for it.
    counts = {
        row["status"]: row["n"] for row in cases.values("status").annotate(n=Count("*")).order_by()
    }
    return {status: counts.get(status, 0) for status in Status.values}


def case_get_for_customer(*, user, reference: str) -> Case | None:
    """The case, if the customer may see it, with the people its page names, and its
    running response target's due time (`response_due_at`) and the plan it was promised
    under (`response_plan_name`), None when none runs: read in the same query, as the
    page shows them together."""
    pk = Case.pk_from_reference(reference)
    if pk is None:
        return None
    return (
        Case.objects.visible_to_customer(user)
        .filter(pk=pk)
        .select_related("requester", "assignee")
        .with_response_due()
        .annotate(response_plan_name=F("running_target__plan__name"))
        .order_by()
        .first()
    )


def case_participants(*, case: Case) -> list[CaseParticipant]:
    """The colleagues following the case beside its requester, first added first."""
    return list(case.participants.select_related("user").order_by("added_at", "id"))


# The suggestions offered when adding a colleague: enough for a team, bounded for a
# big organisation (any address can still be typed).
SHARE_SUGGESTIONS_MAX = 200


def colleagues_to_share_with(*, case: Case, participants: list[CaseParticipant]) -> list[str]:
    """Addresses of the active colleagues of the case's organisation who do not follow
    it yet (not the requester, not its participants), for the "Add a colleague" field."""
    from portal.models import User

    following = {case.requester_id, *(participant.user_id for participant in participants)}
    return list(
        User.objects.filter(is_active=True, membership__organisation_id=case.organisation_id)
        .exclude(pk__in=following)
        .order_by("email")
        .values_list("email", flat=True)[:SHARE_SUGGESTIONS_MAX]
    )


def case_public_thread(*, case: Case) -> list[Message]:
    """The thread a customer sees: never internal notes.

    Each message says whether it `has_attachments`; only those have their attachments
    loaded (one query, and none for the many threads without a file).
    """
    messages = list(
        case.messages.filter(is_internal=False)
        .select_related("author")
        .annotate(has_attachments=Exists(Attachment.objects.filter(message=OuterRef("pk"))))
        .order_by("created_at", "id")
    )
    prefetch_related_objects(
        [message for message in messages if message.has_attachments],
        Prefetch("attachments", queryset=Attachment.objects.order_by("id")),
    )
    return messages


def case_open_question(*, case: Case) -> Message | None:
    """The engineer's question a Pending Customer case is waiting on, if any."""
    if case.status != Status.PENDING_CUSTOMER:
        return None
    return (
        case.messages.filter(is_internal=False)
        .exclude(info_request_kind="")
        .exclude(author_kind=Actor.CUSTOMER)
        .select_related("author")
        .order_by("-created_at", "-id")
        .first()
    )


def case_full_thread(*, case: Case) -> list[Message]:
    """Public replies and internal notes, for engineers. As in `case_public_thread`,
    only messages that `has_attachments` have them loaded."""
    messages = list(
        case.messages.select_related("author")
        .annotate(has_attachments=Exists(Attachment.objects.filter(message=OuterRef("pk"))))
        .order_by("created_at", "id")
    )
    prefetch_related_objects(
        [message for message in messages if message.has_attachments],
        Prefetch("attachments", queryset=Attachment.objects.order_by("id")),
    )
    return messages


# History entries about support's own promises (recomputed targets, a missed target and
# its escalation): engineers see them; the customer sees the promise on the case itself.
ENGINEERS_ONLY_TRANSITIONS = ("service_level", "service_level_breach")


def case_history(*, case: Case) -> QuerySet[CaseEvent]:
    return case.events.select_related("actor").order_by("created_at", "id")


def case_history_for_customer(*, case: Case) -> QuerySet[CaseEvent]:
    return case_history(case=case).exclude(transition__in=ENGINEERS_ONLY_TRANSITIONS)


def attachment_get_for_customer(*, user, reference: str, attachment_id: int) -> Attachment | None:
    """An attachment of a case the user may see, on a public message only."""
    case = case_get_for_customer(user=user, reference=reference)
    if case is None:
        return None
    return (
        Attachment.objects.filter(pk=attachment_id, message__case=case, message__is_internal=False)
        .select_related("message")
        .first()
    )


# Beyond this many matching customers or organisations, a search term is too broad to
# list their ids in the query: it is matched in a subquery instead (slower, still right).
SEARCH_MAX_LISTED_IDS = 500


def case_search_for_staff(cases: QuerySet[Case], term: str) -> QuerySet[Case]:
    """The engineers' search: cases whose reference is `term`, or whose subject, customer
    email or organisation name contains it (as typed, case-insensitive).

    Each part is matched in its own table first, so that on PostgreSQL every condition
    is answered by an index (the trigram indexes of migration 0014) and combined with a
    bitmap OR; an OR across joined tables would read every case instead.
    """
    from portal.models import Organisation, User

    term = clean_line(term)
    if not term:
        return cases
    customers = User.objects.filter(email__icontains=term).order_by().values("pk")
    organisations = Organisation.objects.filter(name__icontains=term).order_by().values("pk")
    customer_ids = list(customers.values_list("pk", flat=True)[: SEARCH_MAX_LISTED_IDS + 1])
    organisation_ids = list(
        organisations.values_list("pk", flat=True)[: SEARCH_MAX_LISTED_IDS + 1]
    )
    matches = Q(subject__icontains=term)
    if customer_ids:
        too_many = len(customer_ids) > SEARCH_MAX_LISTED_IDS
        matches |= Q(requester__in=customers if too_many else customer_ids)
    if organisation_ids:
        too_many = len(organisation_ids) > SEARCH_MAX_LISTED_IDS
        matches |= Q(organisation__in=organisations if too_many else organisation_ids)
    pk = Case.pk_from_reference(term)
    if pk is not None:
        matches |= Q(pk=pk)
    return cases.filter(matches)


def case_ids_due_for_auto_close(
    *, now: datetime, after_id: int = 0, limit: int = 500
) -> list[int]:
    """Ids of cases whose Pending Customer or Resolved clock has run out, in id order.

    Each half uses its partial index; the service re-checks every case under its lock.
    """
    pending_deadline = now - pending_customer_timeout()
    resolved_deadline = now - resolved_timeout()
    due = Case.objects.filter(
        Q(
            status=Status.PENDING_CUSTOMER,
            pending_since__lte=pending_deadline,
            auto_close_held_reason="",
        )
        | Q(status=Status.RESOLVED, resolved_at__lte=resolved_deadline),
        pk__gt=after_id,
    )
    return list(due.order_by("pk").values_list("pk", flat=True)[:limit])


def case_list_awaiting_reminder(*, now: datetime, max_days_before: int) -> QuerySet[Case]:
    """Pending Customer cases within `max_days_before` days of their automatic close."""
    window_start = now - pending_customer_timeout() + timedelta(days=max_days_before)
    return (
        Case.objects.filter(
            status=Status.PENDING_CUSTOMER,
            pending_since__lte=window_start,
            pending_since__gt=now - pending_customer_timeout(),
            auto_close_held_reason="",
        )
        .select_related("requester")
        .order_by("pk")
    )


def engineers() -> QuerySet:
    from django.contrib.auth import get_user_model

    from portal.models import SUPPORT_ENGINEERS_GROUP

    return (
        get_user_model()
        .objects.filter(
            Q(groups__name=SUPPORT_ENGINEERS_GROUP) | Q(is_superuser=True),
            is_active=True,
            is_staff=True,
        )
        .distinct()
    )


def satisfaction_report() -> dict:
    """Ratings given with Confirm it worked: count and share of good ones, per engineer
    (the case's assignee) and per month. Two aggregate queries over rated cases only."""
    rated = Case.objects.exclude(rating="").filter(rated_at__isnull=False)
    totals = {"total": Count("pk"), "good": Count("pk", filter=Q(rating=Rating.GOOD))}
    per_engineer = list(
        rated.values("assignee_id", "assignee__full_name", "assignee__email")
        .annotate(**totals)
        .order_by("-total", "assignee__email")
    )
    per_month = list(
        rated.annotate(month=TruncMonth("rated_at"))
        .values("month")
        .annotate(**totals)
        .order_by("-month")
    )
    for row in (*per_engineer, *per_month):
        row["share"] = round(100 * row["good"] / row["total"])
    return {"per_engineer": per_engineer, "per_month": per_month}


def service_level_policy() -> tuple[list[PriorityLevel], list[Plan]]:
    """What the priorities mean, and the plans with their targets (two queries)."""
    plans = list(
        Plan.objects.prefetch_related(
            Prefetch("targets", queryset=PlanTarget.objects.order_by("priority"))
        )
    )
    return list(PriorityLevel.objects.all()), plans


def plan_of_customer(user) -> Plan | None:
    """The plan a signed-in customer's organisation is served under, if any."""
    membership = getattr(user, "membership", None) if user.is_authenticated else None
    if membership is None:
        return None
    return membership.organisation.service_plan


# --- Service levels, as engineers see them -------------------------------------------


def case_response_targets(*, case: Case) -> list[ResponseTarget]:
    """Every response target of `case` with the plan it ran under, oldest first (one
    query)."""
    return list(
        ResponseTarget.objects.filter(case=case)
        .select_related("plan")
        .order_by("started_at", "pk")
    )


SERVICE_LEVEL_REPORT_DAYS = 30


def _target_state(now: datetime) -> DbCase:
    """How a target counts in the report: met; missed (late, or running past its due
    time even before the breach is recorded); running (open and still in time); or
    stopped (the case closed, or the plan dropped the target, before it was due)."""
    return DbCase(
        When(outcome=TargetOutcome.MET, then=Value("met")),
        When(
            Q(outcome=TargetOutcome.MISSED)
            | Q(breached_at__isnull=False)
            | Q(outcome=TargetOutcome.RUNNING, due_at__lt=now),
            then=Value("missed"),
        ),
        When(outcome__in=OPEN_OUTCOMES, then=Value("running")),
        default=Value("stopped"),
    )


def service_level_report(
    *, now: datetime, zone: tzinfo, days: int = SERVICE_LEVEL_REPORT_DAYS
) -> dict:
    """The targets started in the last `days` calendar days (today included, in `zone`),
    counted by state (`_target_state`): per plan, priority and kind, and per day they
    started. Two aggregate queries over the window (index `response_target_started`)."""
    last_day = timezone.localtime(now, zone).date()
    first_day = last_day - timedelta(days=days - 1)
    since = datetime.combine(first_day, time(0), tzinfo=zone)
    window = ResponseTarget.objects.filter(started_at__gte=since, started_at__lte=now).annotate(
        state=_target_state(now)
    )
    per_terms = list(
        window.values("plan_id", "plan__name", "plan__position", "priority", "kind", "state")
        .annotate(count=Count("pk"))
        .order_by()
    )
    per_day = list(
        window.annotate(day=TruncDate("started_at", tzinfo=zone))
        .values("day", "state")
        .annotate(count=Count("pk"))
        .order_by()
    )
    return {
        "first_day": first_day,
        "last_day": last_day,
        "per_terms": per_terms,
        "per_day": per_day,
    }


# --- The case page's context panel (engineers) ---------------------------------------

# Enough links to see who else is waiting; "More" leads to the whole list. Each row
# read costs the page time (about 0.1 ms from the database to the page).
CONTEXT_OPEN_CASES = 5
CONTEXT_CLOSED_CASES = 5
CONTEXT_RATINGS = 5
# Ratings are given when a customer confirms, which closes the case: they are looked for
# among the organisation's latest closed cases, read in the same query as those.
CONTEXT_RATINGS_AMONG = 20

_CONTEXT_FIELDS = (
    "id",
    "subject",
    "status",
    "requester_id",
    "organisation_id",
    "last_activity_at",
    "closed_at",
)


@dataclass(frozen=True)
class CaseContext:
    """The customer and organisation around a case, for the engineer working it."""

    customer_open: list[Case]
    customer_open_more: bool
    organisation_open: list[Case]
    organisation_open_more: bool
    organisation_closed: list[Case]
    ratings: list[Case]


def case_context(*, case: Case) -> CaseContext:
    """The requester's other open cases, the organisation's other open cases (opened by
    colleagues), its last closed cases and its recent ratings, latest first.

    On PostgreSQL one query: a UNION ALL of limited reads, each in the order of a
    (requester or organisation, status, activity) index, one per open status, so that
    even the biggest organisation costs a few index rows. Elsewhere (SQLite) two. The
    case page has a budget of queries (see `make bench`).
    """
    columns = ("rating", "rating_comment", "rated_at", *_CONTEXT_FIELDS)
    latest = ("-last_activity_at", "-id")
    others = (
        Case.objects.exclude(pk=case.pk)
        .annotate(requester_email=F("requester__email"))
        .only(*columns)
        .order_by(*latest)
    )
    closed_part = others.filter(organisation_id=case.organisation_id, status=Status.CLOSED)[
        :CONTEXT_RATINGS_AMONG
    ]
    more = CONTEXT_OPEN_CASES + 1
    if connection.features.supports_slicing_ordering_in_compound:
        parts = []
        for status in OPEN_STATUSES:
            parts.append(others.filter(requester_id=case.requester_id, status=status)[:more])
            parts.append(
                others.filter(organisation_id=case.organisation_id, status=status).exclude(
                    requester_id=case.requester_id
                )[:more]
            )
        rows = list(closed_part.union(*parts, all=True))
        cut = False
    else:
        limit = 2 * more - 1
        open_rows = list(
            others.filter(
                Q(requester_id=case.requester_id) | Q(organisation_id=case.organisation_id),
                status__in=OPEN_STATUSES,
            )[:limit]
        )
        rows = [*open_rows, *closed_part]
        # Past the limit, older cases of either list may be left out: both say "More".
        cut = len(open_rows) == limit
    rows.sort(key=lambda other: (other.last_activity_at, other.pk), reverse=True)
    closed = [other for other in rows if other.status == Status.CLOSED]
    customer_open = [
        other
        for other in rows
        if other.status != Status.CLOSED and other.requester_id == case.requester_id
    ]
    organisation_open = [
        other
        for other in rows
        if other.status != Status.CLOSED
        and other.requester_id != case.requester_id
        and other.organisation_id == case.organisation_id
    ]
    rated = sorted(
        (other for other in closed if other.rating and other.rated_at),
        key=lambda other: (other.rated_at, other.pk),
        reverse=True,
    )
    return CaseContext(
        customer_open=customer_open[:CONTEXT_OPEN_CASES],
        customer_open_more=cut or len(customer_open) > CONTEXT_OPEN_CASES,
        organisation_open=organisation_open[:CONTEXT_OPEN_CASES],
        organisation_open_more=cut or len(organisation_open) > CONTEXT_OPEN_CASES,
        organisation_closed=closed[:CONTEXT_CLOSED_CASES],
        ratings=rated[:CONTEXT_RATINGS],
    )
