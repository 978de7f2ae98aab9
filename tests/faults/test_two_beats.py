"""Two beat processes at once for several ticks: each due case closed once, one email each."""

import time
from collections import Counter

import pytest

from cases.models import Case, CaseEvent, Notification, NotificationKind, Status
from tests.factories import EngineerFactory, customer
from tests.faults.conftest import wait_for
from tests.faults.sweep import overdue, sweep_results

# Kept together on one xdist worker where xdist can; each worker has its own Redis port.
pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.faults,
    pytest.mark.postgres,
    pytest.mark.xdist_group("faults"),
]


def test_two_beats_close_every_due_case_exactly_once(cluster, invariants_hold):
    engineer = EngineerFactory()
    due = overdue(engineer=engineer, customers=[customer() for _ in range(16)], resolved=4)
    due_ids = {case.pk for case in due}
    assert len(due_ids) == 20

    every_second = {"CASE_SWEEP_INTERVAL_SECONDS": "1", "CASE_SWEEP_BATCH_SIZE": "3"}
    workers = [cluster.worker(f"worker{n}", **every_second) for n in (1, 2)]
    cluster.beat("beat1", **every_second)
    cluster.beat("beat2", **every_second)
    wait_for(
        lambda: Case.objects.filter(pk__in=due_ids, status=Status.CLOSED).count() == 20,
        timeout=120,
        what="the due cases to close",
    )
    # Keep both beats ticking a while longer: later sweeps must find nothing to do.
    time.sleep(3)
    sweeps = [refs for w in workers for refs in sweep_results(w.output())]
    assert len(sweeps) >= 6, sweeps

    closings = Counter(
        CaseEvent.objects.filter(transition="auto_close").values_list("case_id", flat=True)
    )
    assert closings == Counter(dict.fromkeys(due_ids, 1))
    closed_by_sweeps = Counter(ref for refs in sweeps for ref in refs)
    assert set(closed_by_sweeps.values()) == {1}
    assert len(closed_by_sweeps) == 20

    auto_closed = Notification.objects.filter(kind=NotificationKind.AUTO_CLOSED)
    assert Counter(auto_closed.values_list("case_id", flat=True)) == Counter(
        dict.fromkeys(due_ids, 1)
    )
    wait_for(
        lambda: not Notification.objects.exclude(state="sent").exists(),
        timeout=90,
        what="every email sent",
    )
    emails = Counter(e["notification_id"] for e in cluster.mail())
    assert all(emails[n.pk] == 1 for n in auto_closed)
    cluster.stop_all()
    invariants_hold()
