"""Conflicting actions in real parallel transactions: exactly one wins, nothing is lost.

Each thread has its own database connection, so these are real PostgreSQL
transactions contending for the same row locks.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection, transaction
from django.utils import timezone

from cases import services
from cases.exceptions import TransitionNotAllowed
from cases.models import Case, CaseEvent, Message, MessageSource, Notification, Status
from cases.services import close_stale_cases
from tests.factories import CaseFactory, EngineerFactory

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="SQLite has no row locks (select_for_update is a no-op): needs PostgreSQL",
    ),
    pytest.mark.django_db(transaction=True),
]

REPETITIONS = 15
TIMEOUT = 60


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@dataclass
class Outcome:
    value: Any = None
    error: BaseException | None = None


def in_parallel(*actions: Callable[[], Any]) -> list[Outcome]:
    """Run each action in its own thread and connection, released at the same instant."""
    start = threading.Barrier(len(actions), timeout=TIMEOUT)
    outcomes = [Outcome() for _ in actions]

    def run(index: int) -> None:
        try:
            start.wait()
            outcomes[index].value = actions[index]()
        except BaseException as error:  # noqa: BLE001 - reported to the test thread
            outcomes[index].error = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(actions))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)
        assert not thread.is_alive(), "a thread is stuck: lock wait or deadlock"
    return outcomes


def in_thread(action: Callable[[], Any]) -> tuple[threading.Thread, Outcome]:
    outcome = Outcome()

    def run() -> None:
        try:
            outcome.value = action()
        except BaseException as error:  # noqa: BLE001
            outcome.error = error
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def due_pending_case(**kwargs) -> Case:
    return CaseFactory(
        pending_customer=True, pending_since=timezone.now() - timedelta(days=15), **kwargs
    )


def transitions(case: Case) -> list[tuple[str, str]]:
    return list(
        CaseEvent.objects.filter(case=case)
        .order_by("created_at", "id")
        .values_list("from_status", "to_status")
    )


# --- A customer's reply racing the sweep ----------------------------------------------


def test_reply_racing_the_sweep_never_loses_the_reply_or_closes_after_it():
    engineer = EngineerFactory()
    winners = Counter()
    for attempt in range(REPETITIONS):
        case = due_pending_case(engineer=engineer)
        body = f"Logs attached (attempt {attempt})."

        reply, sweep = in_parallel(
            # By email: there a reply reopens a Closed case (the web refuses it and
            # keeps the text for Reopen Case, see test_case_actions_view).
            lambda case=case, body=body: services.case_reply(
                case=case, author=case.requester, body=body, source=MessageSource.EMAIL
            ),
            close_stale_cases,
        )

        assert reply.error is None, reply.error
        assert sweep.error is None, sweep.error
        case.refresh_from_db()
        history = transitions(case)
        # The reply is in the thread exactly once, whoever won.
        assert Message.objects.filter(case=case, body=body).count() == 1
        # Exactly one action moved the case out of Pending Customer.
        assert [h for h in history if h[0] == Status.PENDING_CUSTOMER] == history[:1]
        if history == [(Status.PENDING_CUSTOMER, Status.IN_PROGRESS)]:
            winners["reply"] += 1
            assert case.status == Status.IN_PROGRESS
            assert [c.pk for c in sweep.value] == []
            assert not Notification.objects.filter(case=case, kind="auto_closed").exists()
        else:
            # The sweep closed it first; the reply then reopened it: never closed after it.
            winners["sweep"] += 1
            assert history == [
                (Status.PENDING_CUSTOMER, Status.CLOSED),
                (Status.CLOSED, Status.OPEN),
            ]
            assert case.status == Status.OPEN
            assert case.assignee == engineer
            assert Notification.objects.filter(case=case, kind="auto_closed").count() == 1
        assert case.status != Status.CLOSED
    assert sum(winners.values()) == REPETITIONS


def test_sweep_skips_a_case_whose_reply_is_in_flight():
    case = due_pending_case()
    reply_written = threading.Event()
    sweep_done = threading.Event()

    def slow_reply():
        with transaction.atomic():
            services.case_reply(case=case, author=case.requester, body="Here you go.")
            reply_written.set()
            # Hold the row lock, uncommitted, while the sweep runs.
            assert sweep_done.wait(TIMEOUT)

    replier, replied = in_thread(slow_reply)
    assert reply_written.wait(TIMEOUT)
    sweeper, swept = in_thread(close_stale_cases)
    # The sweep must not wait for the reply's lock: it skips the busy row.
    sweeper.join(TIMEOUT)
    assert not sweeper.is_alive(), "the sweep waited for a locked case instead of skipping it"
    sweep_done.set()
    replier.join(TIMEOUT)

    assert replied.error is None, replied.error
    assert swept.error is None, swept.error
    assert swept.value == []
    case.refresh_from_db()
    assert case.status == Status.IN_PROGRESS
    assert transitions(case) == [(Status.PENDING_CUSTOMER, Status.IN_PROGRESS)]


def test_reply_waiting_behind_an_auto_close_reopens_the_case():
    case = due_pending_case()
    closed = threading.Event()
    release = threading.Event()

    def slow_close():
        with transaction.atomic():
            assert services.case_auto_close(case_id=case.pk) is not None
            closed.set()
            # Hold the row lock, uncommitted, while the reply arrives.
            assert release.wait(TIMEOUT)

    closer, closing = in_thread(slow_close)
    assert closed.wait(TIMEOUT)
    replier, replied = in_thread(
        lambda: services.case_reply(
            case=case,
            author=case.requester,
            body="Sorry, I was away.",
            source=MessageSource.EMAIL,
        )
    )
    replier.join(0.5)
    assert replier.is_alive(), "the reply must wait for the close to commit"
    release.set()
    closer.join(TIMEOUT)
    replier.join(TIMEOUT)

    assert closing.error is None, closing.error
    assert replied.error is None, replied.error
    case.refresh_from_db()
    assert case.status == Status.OPEN
    assert transitions(case) == [
        (Status.PENDING_CUSTOMER, Status.CLOSED),
        (Status.CLOSED, Status.OPEN),
    ]
    assert Message.objects.filter(case=case, body="Sorry, I was away.").count() == 1


# --- Two engineers on one case --------------------------------------------------------


def test_two_engineers_taking_the_same_new_case_exactly_one_wins():
    for _ in range(REPETITIONS):
        case = CaseFactory()
        first, second = EngineerFactory(), EngineerFactory()

        outcomes = in_parallel(
            lambda case=case, e=first: services.case_assign(case=case, engineer=e),
            lambda case=case, e=second: services.case_assign(case=case, engineer=e),
        )

        won = [o for o in outcomes if o.error is None]
        lost = [o for o in outcomes if o.error is not None]
        assert len(won) == 1
        assert len(lost) == 1
        assert isinstance(lost[0].error, TransitionNotAllowed), lost[0].error
        winner = first if outcomes[0].error is None else second
        case.refresh_from_db()
        assert case.status == Status.OPEN
        assert case.assignee == winner
        assert case.original_engineer == winner
        events = CaseEvent.objects.filter(case=case)
        assert events.count() == 1
        assert events.get().actor == winner


def test_two_engineers_asking_for_information_at_once_send_one_question():
    for attempt in range(REPETITIONS):
        case = CaseFactory(in_progress=True)
        first, second = EngineerFactory(), EngineerFactory()
        questions = [f"Which version? ({attempt})", f"Send the logs ({attempt})"]

        outcomes = in_parallel(
            *(
                lambda case=case, engineer=engineer, question=question: services.case_request_info(
                    case=case, engineer=engineer, message=question, kind="logs"
                )
                for engineer, question in zip((first, second), questions, strict=True)
            )
        )

        won = [i for i, o in enumerate(outcomes) if o.error is None]
        assert len(won) == 1
        lost = outcomes[1 - won[0]]
        assert isinstance(lost.error, TransitionNotAllowed), lost.error
        case.refresh_from_db()
        assert case.status == Status.PENDING_CUSTOMER
        assert transitions(case) == [(Status.IN_PROGRESS, Status.PENDING_CUSTOMER)]
        # The refused question left nothing behind: one question, one email.
        assert list(Message.objects.filter(case=case).values_list("body", flat=True)) == [
            questions[won[0]]
        ]
        assert Notification.objects.filter(case=case, kind="pending_customer").count() == 1


# --- Two sweeps at once ---------------------------------------------------------------


def test_two_sweeps_close_each_case_exactly_once_with_one_notification():
    engineer = EngineerFactory()
    long_ago = timezone.now() - timedelta(days=30)
    pending = [due_pending_case(engineer=engineer) for _ in range(12)]
    resolved = [
        CaseFactory(resolved=True, engineer=engineer, resolved_at=long_ago) for _ in range(12)
    ]
    not_due = CaseFactory(pending_customer=True, engineer=engineer)
    cases = pending + resolved

    first, second = in_parallel(
        lambda: close_stale_cases(batch_size=5),
        lambda: close_stale_cases(batch_size=5),
    )

    assert first.error is None, first.error
    assert second.error is None, second.error
    first_ids = {c.pk for c in first.value}
    second_ids = {c.pk for c in second.value}
    assert first_ids.isdisjoint(second_ids)
    assert first_ids | second_ids == {c.pk for c in cases}
    for case in cases:
        assert Case.objects.get(pk=case.pk).status == Status.CLOSED
        assert CaseEvent.objects.filter(case=case, to_status=Status.CLOSED).count() == 1
        assert Notification.objects.filter(case=case, kind="auto_closed").count() == 1
    assert Case.objects.get(pk=not_due.pk).status == Status.PENDING_CUSTOMER
    # A third sweep afterwards finds nothing left to do.
    assert close_stale_cases() == []


# --- Many customers replying on the web at once ----------------------------------------


def test_many_replies_posted_at_once_are_all_saved_and_none_fails():
    """Eight customers' browsers replying together, as on a threaded server.

    Re-reading a case with `refresh_from_db` briefly unprotects the status field for
    every thread (django-fsm keeps that flag on the shared field), so a reply racing
    another one used to fail after it was saved.
    """
    from django.test import Client

    threads, replies_each = 8, 15
    # Two customers' browsers per case: the replies also queue on the row lock.
    cases = [CaseFactory(in_progress=True) for _ in range(threads // 2)]

    def replying(case: Case, browser: int) -> Callable[[], list[int]]:
        def run() -> list[int]:
            client = Client()
            client.force_login(case.requester)
            codes = []
            for n in range(replies_each):
                response = client.post(
                    f"/cases/{case.reference}/reply/", {"body": f"Reply {browser}.{n}"}
                )
                codes.append(response.status_code)
            return codes

        return run

    outcomes = in_parallel(*(replying(cases[i // 2], i) for i in range(threads)))

    for outcome in outcomes:
        assert outcome.error is None, outcome.error
        assert outcome.value == [302] * replies_each
    assert Message.objects.filter(case__in=cases).count() == threads * replies_each
    assert {case.status for case in Case.objects.filter(pk__in=[c.pk for c in cases])} == {
        Status.IN_PROGRESS
    }
