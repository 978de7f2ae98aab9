"""The local filesystem broker after a full disk: zero-byte and truncated message files,
and an empty exchange table.

Before, kombu raised `JSONDecodeError` on the first such file and the worker exited at
every start (honcho then stopped web and beat too). Now the worker sets them aside in
`var/broker/corrupt/`, says so in its log, and works: the notification whose task was
lost is sent by the outbox relay that beat schedules through the same broker.
"""

import os
import time
from pathlib import Path

import pytest

from cases.models import Notification, NotificationState
from tests import journeys
from tests.factories import EngineerFactory, customer
from tests.faults.conftest import wait_for

# Kept together on one xdist worker where xdist can; each worker has its own Redis port.
pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.faults,
    pytest.mark.postgres,
    pytest.mark.xdist_group("faults"),
]


def damaged_messages(out: Path) -> list[Path]:
    """What a disk that filled up while tasks were being published leaves behind."""
    out.mkdir(parents=True, exist_ok=True)
    files = [
        out / f"{1000 + n}_00000000-0000-0000-0000-00000000000{n}.celery.msg" for n in range(4)
    ]
    for path in files[:3]:
        path.write_bytes(b"")
    files[3].write_bytes(b'{"body": "eyJ0YXNrIjogImNhc2VzLnRhc2tzLnNl')
    long_ago = time.time() - 3600
    for path in files:
        os.utime(path, (long_ago, long_ago))
    return files


def test_worker_sets_damaged_broker_files_aside_and_keeps_sending(cluster, invariants_hold):
    # The notification's own task went to a queue no worker reads: it is lost, as if its
    # message file had been one of the damaged ones.
    case = journeys.pending_customer(customer(), EngineerFactory())
    notifications = set(Notification.objects.filter(case=case).values_list("pk", flat=True))
    assert notifications
    assert not Notification.objects.filter(state=NotificationState.SENT).exists()

    broker_dir = Path(cluster.env["PORTAL_VAR_DIR"]) / "broker"
    damaged = damaged_messages(broker_dir / "out")
    table = broker_dir / "control" / "celery.exchange"
    table.parent.mkdir(parents=True, exist_ok=True)
    table.write_bytes(b"")
    os.utime(table, (time.time() - 3600, time.time() - 3600))
    local = {
        "CELERY_BROKER_URL": "filesystem://",
        "NOTIFICATION_RELAY_GRACE_SECONDS": "1",
        "NOTIFICATION_RELAY_INTERVAL_SECONDS": "1",
    }
    worker = cluster.worker(**local)
    cluster.beat(**local)

    def all_sent_or_worker_gone():
        sent = Notification.objects.filter(state=NotificationState.SENT).count()
        return sent == len(notifications) or not worker.alive()

    wait_for(all_sent_or_worker_gone, timeout=45, what="the relay to send the notification")
    assert worker.alive(), worker.output()
    sent = [entry["notification_id"] for entry in cluster.mail("sent")]
    assert sorted(sent) == sorted(notifications)
    set_aside = sorted(path.name for path in (broker_dir / "corrupt").iterdir())
    assert [name for name in set_aside if name.endswith(".msg")] == sorted(
        path.name for path in damaged
    )
    assert [name for name in set_aside if name.startswith("celery.exchange.")]
    assert f"Broker exchange table {table} could not be decoded" in worker.output()
    assert not any(path.exists() for path in damaged)
    log = worker.output()
    assert "JSONDecodeError" not in log
    for path in damaged:
        assert f"Broker message file {path} could not be decoded" in log
    cluster.stop_all()
    invariants_hold()
