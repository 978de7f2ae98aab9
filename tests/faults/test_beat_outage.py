"""Beat down for longer than the sweep interval, then back: the first sweep after its
return closes every case that came due meanwhile."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from cases.models import Case, Status
from tests.factories import EngineerFactory, customer
from tests.faults.conftest import wait_for
from tests.faults.sweep import cases_due_at, sweep_results

# Kept together on one xdist worker where xdist can; each worker has its own Redis port.
pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.faults,
    pytest.mark.postgres,
    pytest.mark.xdist_group("faults"),
]

INTERVAL = 3


def test_first_sweep_after_beat_returns_closes_everything_that_came_due(cluster, invariants_hold):
    schedule = {"CASE_SWEEP_INTERVAL_SECONDS": str(INTERVAL), "CASE_SWEEP_BATCH_SIZE": "2"}
    worker = cluster.worker(**schedule)
    beat = cluster.beat(**schedule)
    wait_for(lambda: sweep_results(worker.output()), timeout=90, what="a first sweep")
    beat.kill()

    engineer = EngineerFactory()
    came_due_at = timezone.now() + timedelta(seconds=1)
    due = cases_due_at(
        came_due_at, engineer=engineer, customers=[customer() for _ in range(5)], resolved=2
    )
    # Down for well over one interval after they came due.
    time.sleep(max(0, (came_due_at - timezone.now()).total_seconds()) + 2 * INTERVAL)
    assert not Case.objects.filter(status=Status.CLOSED).exists()

    sweeps_before = len(sweep_results(worker.output()))
    cluster.beat(**schedule)
    first_after = wait_for(
        lambda: sweep_results(worker.output())[sweeps_before:],
        timeout=90,
        what="the first sweep after beat returned",
    )[0]
    assert sorted(first_after) == sorted(case.reference for case in due)
    assert Case.objects.filter(status=Status.CLOSED).count() == len(due) == 7
    cluster.stop_all()
    invariants_hold()
