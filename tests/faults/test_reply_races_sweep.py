"""A customer's reply committed at the very moment the sweep reaches the case.

Two threads, each with its own PostgreSQL connection, released together by a barrier,
over many repetitions: whichever takes the row lock first, the reply is kept and the
case does not stay closed after it.
"""

import threading

import pytest
from django.db import connection

from cases import services
from cases.models import Case, CaseEvent, Message, MessageSource, Status
from tests.factories import EngineerFactory, customer
from tests.faults.sweep import overdue

# Kept together on one xdist worker where xdist can; each worker has its own Redis port.
pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.faults,
    pytest.mark.postgres,
    pytest.mark.xdist_group("faults"),
]

REPETITIONS = 30


def run_together(*actions) -> list[BaseException]:
    barrier = threading.Barrier(len(actions))
    errors: list[BaseException] = []

    def run(action):
        try:
            barrier.wait()
            action()
        except BaseException as error:  # noqa: BLE001 - reported by the test
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(action,)) for action in actions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return errors


def test_reply_at_the_moment_of_the_sweep_is_never_lost(invariants_hold):
    engineer, person = EngineerFactory(), customer()
    outcomes = {"reply first": 0, "sweep first": 0}

    for _ in range(REPETITIONS):
        # One due case at a time, so each sweep has exactly this case to reach.
        (case,) = overdue(engineer=engineer, customers=[person])
        body = f"Reply to {case.reference} at the deadline"
        errors = run_together(
            # By email, where a reply reopens a Closed case (on the web it is refused
            # under the lock and its text kept for Reopen Case).
            lambda case=case, person=person, body=body: services.case_reply(
                case=case, author=person, body=body, source=MessageSource.EMAIL
            ),
            services.close_stale_cases,
        )
        assert errors == []
        case.refresh_from_db()
        assert Message.objects.filter(case=case, body=body).count() == 1
        assert case.status != Status.CLOSED, case.reference
        closed_first = CaseEvent.objects.filter(case=case, transition="auto_close").exists()
        outcomes["sweep first" if closed_first else "reply first"] += 1
        if closed_first:
            # The reply came after the closing and reopened the case.
            assert CaseEvent.objects.filter(case=case, transition="reopen").exists()
        else:
            assert case.status == Status.IN_PROGRESS

    assert sum(outcomes.values()) == REPETITIONS
    assert not Case.objects.filter(status=Status.CLOSED).exists()
    invariants_hold()
