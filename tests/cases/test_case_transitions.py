# ruff: noqa: E501  (the transitions table reads best one row per line)
"""Every status × every action × every kind of actor, as DESIGN.md's transitions table.

Each combination is either allowed (the resulting status and the history entry are
checked) or refused with a domain error that changes nothing at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.utils import timezone
from django_fsm import has_transition_perm

from cases import services
from cases.exceptions import ActionNotPermitted, CaseActionError, TransitionNotAllowed
from cases.models import (
    Actor,
    Case,
    CaseEvent,
    InfoRequestKind,
    Message,
    MessageSource,
    Notification,
    Status,
)
from tests.factories import CaseFactory, EngineerFactory, customer

pytestmark = pytest.mark.django_db

NEW = Status.NEW
OPEN = Status.OPEN
IN_PROGRESS = Status.IN_PROGRESS
PENDING = Status.PENDING_CUSTOMER
RESOLVED = Status.RESOLVED
CLOSED = Status.CLOSED
ALL_STATUSES = [NEW, OPEN, IN_PROGRESS, PENDING, RESOLVED, CLOSED]

# Kinds of actor, relative to the case.
REQUESTER = "requester"  # the customer who opened it
COLLEAGUE = "colleague"  # same organisation, allowed to follow its cases
TEAMMATE = "teammate"  # same organisation, may see only their own cases
STRANGER = "stranger"  # a customer of another organisation
ENGINEER = "engineer"  # an active support engineer (not necessarily the assignee)
SCHEDULER = "scheduler"  # nobody: the closure policy
ALL_ACTORS = [REQUESTER, COLLEAGUE, TEAMMATE, STRANGER, ENGINEER, SCHEDULER]
CUSTOMERS = [REQUESTER, COLLEAGUE]
PEOPLE = [REQUESTER, COLLEAGUE, TEAMMATE, STRANGER, ENGINEER]


@dataclass(frozen=True)
class Allowed:
    to: Status | None  # None: the action joins the thread and changes no status
    reason: str = ""


# Who may attempt each action at all; anyone else gets ActionNotPermitted.
MAY_ATTEMPT = {
    "assign": [ENGINEER],
    "start_work": [ENGINEER],
    "request_info": [ENGINEER],
    # On the web a Closed case is reopened with Reopen Case; by email the reply reopens it.
    "reply": [*CUSTOMERS, ENGINEER],
    "email_reply": [*CUSTOMERS, ENGINEER],
    "resolve": [ENGINEER],
    "mark_resolved": CUSTOMERS,
    "confirm": CUSTOMERS,
    "close": [*CUSTOMERS, ENGINEER],
    "reopen": [*CUSTOMERS, ENGINEER],
}
ACTIONS = list(MAY_ATTEMPT)

# The transitions table of DESIGN.md. Pending Customer cases from the factory were
# asked from In Progress, so a reply returns them there. Reopened cases go back to
# their (still active) original engineer: Open.
#   action           from                                     by           to, history reason
TABLE: list[tuple[str, list[Status], list[str], Allowed]] = [
    ("assign",        [NEW],                                   [ENGINEER],  Allowed(OPEN, "Taken")),
    ("start_work",    [OPEN],                                  [ENGINEER],  Allowed(IN_PROGRESS, "Work started")),
    ("request_info",  [OPEN, IN_PROGRESS],                     [ENGINEER],  Allowed(PENDING, "Requested: Additional logs or error output")),
    ("reply",         [PENDING],                               CUSTOMERS,   Allowed(IN_PROGRESS, "Customer replied")),
    ("reply",         [RESOLVED],                              CUSTOMERS,   Allowed(OPEN, "Customer replied to a resolved case (objection)")),
    ("email_reply",   [PENDING],                               CUSTOMERS,   Allowed(IN_PROGRESS, "Customer replied")),
    ("email_reply",   [RESOLVED],                              CUSTOMERS,   Allowed(OPEN, "Customer replied to a resolved case (objection)")),
    ("email_reply",   [CLOSED],                                CUSTOMERS,   Allowed(OPEN, "Customer replied to a closed case")),
    ("email_reply",   [NEW, OPEN, IN_PROGRESS],                CUSTOMERS,   Allowed(None)),
    ("email_reply",   [NEW, OPEN, IN_PROGRESS, PENDING, RESOLVED], [ENGINEER], Allowed(None)),
    ("reply",         [NEW, OPEN, IN_PROGRESS],                CUSTOMERS,   Allowed(None)),
    ("reply",         [NEW, OPEN, IN_PROGRESS, PENDING, RESOLVED], [ENGINEER], Allowed(None)),
    ("resolve",       [OPEN, IN_PROGRESS, PENDING],            [ENGINEER],  Allowed(RESOLVED, "Resolved by engineer")),
    ("mark_resolved", [NEW, OPEN, IN_PROGRESS, PENDING],       CUSTOMERS,   Allowed(RESOLVED, "Marked resolved by the customer")),
    ("confirm",       [RESOLVED],                              CUSTOMERS,   Allowed(CLOSED, "The customer confirmed it worked")),
    ("close",         [NEW, OPEN, IN_PROGRESS, PENDING, RESOLVED], CUSTOMERS, Allowed(CLOSED, "Closed by the customer")),
    ("close",         [NEW, OPEN, IN_PROGRESS, PENDING, RESOLVED], [ENGINEER], Allowed(CLOSED, "Closed by engineer")),
    ("reopen",        [RESOLVED, CLOSED],                      CUSTOMERS,   Allowed(OPEN, "Reopened by the customer")),
    ("reopen",        [RESOLVED, CLOSED],                      [ENGINEER],  Allowed(OPEN, "Reopened by engineer")),
]  # fmt: skip


def expected(action: str, status: Status, actor: str) -> Allowed | type[CaseActionError]:
    for row_action, sources, actors, outcome in TABLE:
        if row_action == action and status in sources and actor in actors:
            return outcome
    if actor not in MAY_ATTEMPT[action]:
        return ActionNotPermitted
    return TransitionNotAllowed


MATRIX = [
    pytest.param(action, status, actor, id=f"{action}-{status}-{actor}")
    for action in ACTIONS
    for status in ALL_STATUSES
    for actor in ALL_ACTORS
]


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def make_case(status: Status) -> Case:
    traits = {} if status == NEW else {status.value: True}
    return CaseFactory(**traits)


def make_actor(kind: str, case: Case):
    match kind:
        case "requester":
            return case.requester
        case "colleague":
            return customer(case.organisation, sees_organisation=True)
        case "teammate":
            return customer(case.organisation)
        case "stranger":
            return customer()
        case "engineer":
            return EngineerFactory()
        case "scheduler":
            return None
    raise AssertionError(kind)


def run(action: str, case: Case, actor) -> None:
    match action:
        case "assign":
            services.case_assign(case=case, engineer=actor)
        case "start_work":
            services.case_start_work(case=case, engineer=actor)
        case "request_info":
            services.case_request_info(
                case=case,
                engineer=actor,
                message="Could you send the kubelet logs from a NotReady node?",
                kind=InfoRequestKind.LOGS,
            )
        case "reply":
            services.case_reply(case=case, author=actor, body="Here is what you asked for.")
        case "email_reply":
            services.case_reply(
                case=case,
                author=actor,
                body="Here is what you asked for.",
                source=MessageSource.EMAIL,
            )
        case "resolve":
            services.case_resolve(case=case, engineer=actor)
        case "mark_resolved":
            services.case_mark_resolved(case=case, customer=actor)
        case "confirm":
            services.case_confirm_resolution(case=case, customer=actor)
        case "close":
            services.case_close(case=case, actor=actor)
        case "reopen":
            services.case_reopen(case=case, actor=actor)
        case _:
            raise AssertionError(action)


def snapshot(case: Case) -> dict:
    row = Case.objects.get(pk=case.pk)
    return {
        "status": row.status,
        "assignee": row.assignee_id,
        "events": CaseEvent.objects.filter(case=case).count(),
        "messages": Message.objects.filter(case=case).count(),
        "notifications": Notification.objects.filter(case=case).count(),
    }


def test_the_matrix_covers_every_status_action_and_actor():
    assert {s for s in Status} == set(ALL_STATUSES)
    assert len(MATRIX) == len(ACTIONS) * 6 * len(ALL_ACTORS)
    # Every table row is reachable: no typo hides an allowed transition.
    for action, sources, actors, _ in TABLE:
        assert set(actors) <= set(MAY_ATTEMPT[action]), action
        assert set(sources) <= set(ALL_STATUSES), action


@pytest.mark.parametrize(("action", "status", "actor_kind"), MATRIX)
def test_transition_matrix(action, status, actor_kind):
    case = make_case(status)
    actor = make_actor(actor_kind, case)
    before = snapshot(case)
    outcome = expected(action, status, actor_kind)

    if not isinstance(outcome, Allowed):
        with pytest.raises(outcome) as refused:
            run(action, case, actor)
        assert str(refused.value), "a refusal carries a message fit to show"
        assert type(refused.value) is outcome
        assert snapshot(case) == before
        return

    run(action, case, actor)
    after = snapshot(case)
    case.refresh_from_db()
    if outcome.to is None:
        assert after["status"] == status
        assert after["events"] == before["events"]
        assert after["messages"] == before["messages"] + 1
        return

    assert case.status == outcome.to
    assert after["events"] == before["events"] + 1
    event = CaseEvent.objects.filter(case=case).latest("created_at", "id")
    assert event.from_status == status
    assert event.to_status == outcome.to
    assert event.actor == actor
    assert event.actor_kind == (Actor.ENGINEER if actor_kind == ENGINEER else Actor.CUSTOMER)
    assert event.reason == outcome.reason


# --- The scheduler's transition -------------------------------------------------------

AUTO_CLOSE = {
    PENDING: "No reply for 14 days on Pending Customer",
    RESOLVED: "Resolved with no objection for 7 days",
}


@pytest.mark.parametrize("status", ALL_STATUSES)
def test_auto_close_by_the_scheduler_when_due(status):
    case = make_case(status)
    long_ago = timezone.now() - timedelta(days=30)
    # Every clock that could run has run out.
    Case.objects.filter(pk=case.pk).update(
        pending_since=long_ago if status == PENDING else None,
        resolved_at=long_ago if status == RESOLVED else None,
    )
    before = snapshot(case)

    closed = services.case_auto_close(case_id=case.pk)

    if status not in AUTO_CLOSE:
        assert closed is None
        assert snapshot(case) == before
        return
    case.refresh_from_db()
    assert closed.pk == case.pk
    assert case.status == CLOSED
    assert case.closed_at is not None
    event = CaseEvent.objects.filter(case=case).latest("created_at", "id")
    assert (event.from_status, event.to_status) == (status, CLOSED)
    assert event.actor is None
    assert event.actor_kind == Actor.SCHEDULER
    assert event.reason == AUTO_CLOSE[status]
    # The customer and the assigned engineer are told.
    assert snapshot(case)["notifications"] == before["notifications"] + 2


@pytest.mark.parametrize("status", [PENDING, RESOLVED])
def test_auto_close_refuses_a_case_whose_clock_has_not_run_out(status):
    case = make_case(status)
    before = snapshot(case)
    assert services.case_auto_close(case_id=case.pk) is None
    assert snapshot(case) == before


@pytest.mark.parametrize("actor_kind", PEOPLE)
def test_only_the_scheduler_may_auto_close(actor_kind):
    case = CaseFactory(pending_customer=True, pending_since=timezone.now() - timedelta(days=30))
    actor = make_actor(actor_kind, case)
    assert not has_transition_perm(case.auto_close, actor)
    assert has_transition_perm(case.auto_close, None)


# --- Conditions and guards beyond the table -------------------------------------------


@pytest.mark.parametrize("message", ["", "   \n "])
@pytest.mark.parametrize("status", [OPEN, IN_PROGRESS])
def test_request_info_without_a_message_is_refused(status, message):
    case = make_case(status)
    before = snapshot(case)
    with pytest.raises(CaseActionError, match="saying what you need"):
        services.case_request_info(
            case=case, engineer=EngineerFactory(), message=message, kind=InfoRequestKind.LOGS
        )
    assert snapshot(case) == before


@pytest.mark.parametrize("kind", ["", "coffee", "LOGS"])
def test_request_info_with_an_unknown_kind_is_refused(kind):
    case = make_case(OPEN)
    before = snapshot(case)
    with pytest.raises(CaseActionError, match="what you are asking"):
        services.case_request_info(
            case=case, engineer=EngineerFactory(), message="Send logs please.", kind=kind
        )
    assert snapshot(case) == before


@pytest.mark.parametrize("kind", InfoRequestKind.values)
def test_request_info_posts_the_question_and_notifies_the_customer(kind):
    case = make_case(IN_PROGRESS)
    engineer = EngineerFactory()
    services.case_request_info(case=case, engineer=engineer, message="What changed?", kind=kind)
    case.refresh_from_db()
    assert case.status == PENDING
    assert case.info_request_kind == kind
    question = Message.objects.get(case=case)
    assert (question.author, question.body, question.is_internal) == (
        engineer,
        "What changed?",
        False,
    )
    assert question.info_request_kind == kind
    notice = Notification.objects.get(case=case)
    assert (notice.kind, notice.recipient, notice.message) == (
        "pending_customer",
        case.requester,
        question,
    )


@pytest.mark.parametrize("asked_from", [OPEN, IN_PROGRESS])
@pytest.mark.parametrize("replier", [REQUESTER, COLLEAGUE])
def test_customer_reply_returns_pending_case_to_where_it_came_from(asked_from, replier):
    case = make_case(asked_from)
    engineer = case.assignee
    services.case_request_info(
        case=case, engineer=engineer, message="Which version?", kind=InfoRequestKind.CONFIGURATION
    )
    author = make_actor(replier, case)

    services.case_reply(case=case, author=author, body="Version 1.31.")

    case.refresh_from_db()
    assert case.status == asked_from
    assert case.assignee == engineer
    assert case.pending_since is None
    assert case.return_status == ""
    assert case.info_request_kind == ""
    assert case.messages.filter(author=author, body="Version 1.31.").exists()
    event = case.events.latest("created_at", "id")
    assert (event.from_status, event.to_status, event.actor) == (PENDING, asked_from, author)


@pytest.mark.parametrize("status", [RESOLVED, CLOSED])
def test_customer_reply_on_a_finished_case_reopens_it_and_keeps_the_message(status):
    """By email (on the web a Closed case offers Reopen Case instead of a reply)."""
    case = make_case(status)
    services.case_reply(
        case=case, author=case.requester, body="It broke again.", source=MessageSource.EMAIL
    )
    case.refresh_from_db()
    assert case.status == OPEN
    assert case.resolved_at is None
    assert case.closed_at is None
    assert case.messages.filter(body="It broke again.").exists()


@pytest.mark.parametrize("status", [NEW, OPEN, IN_PROGRESS])
def test_customer_reply_elsewhere_joins_the_thread_and_changes_nothing_else(status):
    case = make_case(status)
    before = snapshot(case)
    services.case_reply(case=case, author=case.requester, body="One more detail.")
    after = snapshot(case)
    assert after["messages"] == before["messages"] + 1
    assert (after["status"], after["assignee"], after["events"]) == (
        before["status"],
        before["assignee"],
        before["events"],
    )
    case.refresh_from_db()
    assert case.status == status
    assert case.pending_since is None


def test_engineer_cannot_reply_on_a_closed_case_without_reopening_it():
    case = make_case(CLOSED)
    before = snapshot(case)
    with pytest.raises(TransitionNotAllowed, match="reopen"):
        services.case_reply(case=case, author=EngineerFactory(), body="Anything else?")
    assert snapshot(case) == before


@pytest.mark.parametrize("status", [OPEN, IN_PROGRESS, PENDING])
def test_assign_refuses_a_case_already_taken(status):
    case = make_case(status)
    before = snapshot(case)
    with pytest.raises(TransitionNotAllowed, match="assigned already"):
        services.case_assign(case=case, engineer=EngineerFactory())
    assert snapshot(case) == before


@pytest.mark.parametrize("status", [NEW, OPEN, IN_PROGRESS, PENDING])
def test_giving_a_case_takes_it_whether_new_or_being_worked(status):
    case = make_case(status)
    engineer = EngineerFactory()
    services.case_give_to(case=case, engineer=engineer)
    case.refresh_from_db()
    assert case.assignee == engineer
    assert case.status == (Status.OPEN if status == NEW else status)


def test_giving_a_case_seen_new_is_refused_once_a_colleague_took_it():
    case = make_case(NEW)
    services.case_give_to(case=case, engineer=EngineerFactory())
    before = snapshot(case)
    with pytest.raises(TransitionNotAllowed, match="someone acted on it first"):
        services.case_give_to(case=case, engineer=EngineerFactory(), seen_status=NEW)
    assert snapshot(case) == before


def test_assign_refuses_a_customer_as_assignee():
    case = make_case(NEW)
    before = snapshot(case)
    with pytest.raises(CaseActionError, match="not an active support engineer"):
        services.case_assign(case=case, engineer=EngineerFactory(), assignee=case.requester)
    assert snapshot(case) == before


def test_assign_makes_the_first_engineer_the_original_engineer():
    case = make_case(NEW)
    lead, other = EngineerFactory(), EngineerFactory()
    services.case_assign(case=case, engineer=lead, assignee=other)
    case.refresh_from_db()
    assert (case.assignee, case.original_engineer) == (other, other)
    assert case.events.latest("created_at", "id").reason == f"Assigned to {other}"


@pytest.mark.parametrize(
    "disable",
    [
        pytest.param(lambda user: setattr(user, "is_active", False), id="deactivated"),
        pytest.param(lambda user: setattr(user, "is_staff", False), id="no-longer-staff"),
        pytest.param(lambda user: user.groups.clear(), id="left-support-group"),
    ],
)
def test_inactive_engineer_is_refused_like_a_customer(disable):
    case = make_case(NEW)
    engineer = EngineerFactory()
    disable(engineer)
    engineer.save()
    before = snapshot(case)
    with pytest.raises(ActionNotPermitted):
        services.case_assign(case=case, engineer=engineer)
    assert snapshot(case) == before


# --- Reopen: back to the original engineer, or to New -------------------------------


@pytest.mark.parametrize("status", [RESOLVED, CLOSED])
@pytest.mark.parametrize("reopener", [REQUESTER, COLLEAGUE, ENGINEER])
def test_reopen_goes_back_to_the_original_engineer_while_still_active(status, reopener):
    case = make_case(status)
    original = case.original_engineer
    # Someone else held the case last; the history says who first took it.
    Case.objects.filter(pk=case.pk).update(assignee=EngineerFactory())
    services.case_reopen(case=case, actor=make_actor(reopener, case))
    case.refresh_from_db()
    assert case.status == OPEN
    assert case.assignee == original


@pytest.mark.parametrize("status", [RESOLVED, CLOSED])
@pytest.mark.parametrize(
    "disable",
    [
        pytest.param(lambda user: setattr(user, "is_active", False), id="deactivated"),
        pytest.param(lambda user: setattr(user, "is_staff", False), id="no-longer-staff"),
        pytest.param(lambda user: user.groups.clear(), id="left-support-group"),
    ],
)
@pytest.mark.parametrize("how", ["reopen", "reply"])
def test_reopen_goes_to_new_unassigned_when_the_original_engineer_left(status, disable, how):
    case = make_case(status)
    original = case.original_engineer
    disable(original)
    original.save()

    if how == "reopen":
        services.case_reopen(case=case, actor=case.requester)
    else:
        services.case_reply(
            case=case, author=case.requester, body="Still broken.", source=MessageSource.EMAIL
        )

    case.refresh_from_db()
    assert case.status == NEW
    assert case.assignee is None
    event = case.events.latest("created_at", "id")
    assert (event.from_status, event.to_status) == (status, NEW)
    # Reopened to New, any engineer can take it again.
    services.case_assign(case=case, engineer=EngineerFactory())
    case.refresh_from_db()
    assert case.status == OPEN


def test_reopen_keeps_the_same_case_and_its_whole_history():
    case = make_case(NEW)
    engineer = EngineerFactory()
    services.case_assign(case=case, engineer=engineer)
    services.case_resolve(case=case, engineer=engineer, message="Fixed.")
    services.case_close(case=case, actor=case.requester)
    services.case_reopen(case=case, actor=case.requester, message="It is back.")
    case.refresh_from_db()
    assert case.status == OPEN
    assert list(case.events.values_list("from_status", "to_status")) == [
        (NEW, OPEN),
        (OPEN, RESOLVED),
        (RESOLVED, CLOSED),
        (CLOSED, OPEN),
    ]
    assert list(case.messages.values_list("body", flat=True)) == ["Fixed.", "It is back."]


@pytest.mark.parametrize("closer", [REQUESTER, ENGINEER])
def test_reopen_of_a_case_nobody_ever_took_goes_back_to_new(closer):
    case = make_case(NEW)
    services.case_close(case=case, actor=make_actor(closer, case))
    services.case_reopen(case=case, actor=case.requester)
    case.refresh_from_db()
    assert (case.status, case.assignee, case.closed_at) == (NEW, None, None)


@pytest.mark.parametrize("status", ALL_STATUSES)
@pytest.mark.parametrize("author_kind", [REQUESTER, ENGINEER])
def test_an_empty_reply_is_refused_and_changes_nothing(status, author_kind):
    case = make_case(status)
    author = make_actor(author_kind, case)
    before = snapshot(case)
    with pytest.raises(CaseActionError):
        services.case_reply(case=case, author=author, body="  \n ")
    assert snapshot(case) == before


@pytest.mark.parametrize("status", [PENDING, RESOLVED, CLOSED])
def test_a_deactivated_customer_cannot_act_on_their_case(status):
    case = make_case(status)
    requester = case.requester
    requester.is_active = False
    requester.save()
    before = snapshot(case)
    with pytest.raises(ActionNotPermitted):
        services.case_reply(case=case, author=requester, body="Hello?")
    with pytest.raises(ActionNotPermitted):
        services.case_reopen(case=case, actor=requester)
    assert snapshot(case) == before


def test_status_cannot_be_set_by_assignment():
    # Only transitions (through the services) move a case.
    case = make_case(PENDING)
    with pytest.raises(AttributeError):
        case.status = CLOSED
    case.refresh_from_db()
    assert case.status == PENDING
