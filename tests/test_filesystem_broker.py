"""The local filesystem broker survives damaged message files (a full disk).

kombu's own filesystem channel raises `JSONDecodeError` out of the worker's consume loop
on a zero-byte or truncated message file, so the worker exits at every start.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from kombu import Connection, Consumer, Exchange, Producer, Queue
from kombu.transport.virtual import BrokerState

from portal import broker

BASE_DIR = Path(__file__).resolve().parent.parent
QUEUE = Queue("celery", Exchange("celery", type="direct"), routing_key="celery")


@pytest.fixture
def broker_dir(tmp_path, monkeypatch) -> Path:
    # Bindings are remembered per process; each test starts like a fresh worker.
    monkeypatch.setattr(broker.Transport, "global_state", BrokerState())
    for folder in ("out", "processed", "control"):
        (tmp_path / folder).mkdir()
    return tmp_path


def connect(broker_dir: Path) -> Connection:
    return Connection(
        "filesystem://",
        transport="portal.broker:Transport",
        transport_options={
            "data_folder_in": str(broker_dir / "out"),
            "data_folder_out": str(broker_dir / "out"),
            "processed_folder": str(broker_dir / "processed"),
            "control_folder": str(broker_dir / "control"),
            "store_processed": False,
            "corrupt_folder": str(broker_dir / "corrupt"),
        },
    )


def damaged_file(broker_dir: Path, name: str, content: bytes, *, age: float = 60) -> Path:
    # Named to sort before any message published now (kombu sorts by a monotonic ms prefix).
    path = broker_dir / "out" / f"0000_{name}.celery.msg"
    path.write_bytes(content)
    written = time.time() - age
    os.utime(path, (written, written))
    return path


def consume_all(connection: Connection) -> list[object]:
    received: list[object] = []

    def on_message(body, message):
        received.append(body)
        message.ack()

    with Consumer(connection, [QUEUE], callbacks=[on_message], accept=["json"]):
        for _ in range(5):
            try:
                connection.drain_events(timeout=0.2)
            except TimeoutError:
                break
    return received


def test_damaged_message_files_are_set_aside_and_the_good_message_is_delivered(broker_dir, caplog):
    empty = damaged_file(broker_dir, "empty", b"")
    truncated = damaged_file(broker_dir, "truncated", b'{"body": "eyJ0YXNrIjog", "content-')
    not_a_message = damaged_file(broker_dir, "list", b"[1, 2]")
    with connect(broker_dir) as connection:
        Producer(connection).publish(
            {"hello": "world"}, exchange=QUEUE.exchange, routing_key="celery", declare=[QUEUE]
        )
        with caplog.at_level(logging.WARNING, logger="portal.broker"):
            received = consume_all(connection)

    assert received == [{"hello": "world"}]
    corrupt = broker_dir / "corrupt"
    assert sorted(path.name for path in corrupt.iterdir()) == sorted(
        path.name for path in (empty, truncated, not_a_message)
    )
    assert (corrupt / truncated.name).read_bytes().startswith(b'{"body": ')
    assert list((broker_dir / "out").iterdir()) == []
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    for path in (empty, truncated, not_a_message):
        assert any(str(path) in warning for warning in warnings), (path, warnings)


def test_an_empty_file_still_being_written_is_left_for_a_later_poll(broker_dir):
    fresh = damaged_file(broker_dir, "fresh", b"", age=0)
    with connect(broker_dir) as connection:
        assert consume_all(connection) == []
    assert fresh.exists()
    assert not (broker_dir / "corrupt").exists()


def test_a_damaged_exchange_table_is_set_aside_and_rebuilt_when_queues_are_declared(
    broker_dir, caplog
):
    table = broker_dir / "control" / "celery.exchange"
    table.write_bytes(b"")
    os.utime(table, (time.time() - 60, time.time() - 60))
    with connect(broker_dir) as connection:
        with caplog.at_level(logging.WARNING, logger="portal.broker"):
            Producer(connection).publish(
                {"hello": "again"}, exchange=QUEUE.exchange, routing_key="celery", declare=[QUEUE]
            )
        received = consume_all(connection)

    assert received == [{"hello": "again"}]
    assert json.loads(table.read_text()) == [["celery", "", "celery"]]
    [set_aside] = (broker_dir / "corrupt").iterdir()
    assert set_aside.name.startswith("celery.exchange.")
    assert set_aside.read_bytes() == b""
    assert any(
        f"exchange table {table} could not be decoded" in r.getMessage() for r in caplog.records
    )


def test_the_local_default_broker_uses_the_hardened_transport(tmp_path):
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONDONTWRITEBYTECODE": "1",
        "DEBUG": "true",
        "PORTAL_VAR_DIR": str(tmp_path),
    }
    result = subprocess.run(  # noqa: S603 - fixed argument list
        [
            sys.executable,
            "-c",
            "from portal.celery import app; c = app.connection_for_read(); "
            "print(type(c.transport).__module__, c.transport_options['corrupt_folder'])",
        ],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["portal.broker", str(tmp_path / "broker" / "corrupt")]


def test_the_transport_makes_its_folders_when_first_used(tmp_path, monkeypatch):
    """The settings only name the folders; a fresh checkout has none of them."""
    monkeypatch.setattr(broker.Transport, "global_state", BrokerState())
    broker_dir = tmp_path / "var" / "broker"
    with connect(broker_dir) as connection:
        Producer(connection).publish(
            {"hello": "world"}, exchange=QUEUE.exchange, routing_key="celery", declare=[QUEUE]
        )
        received = consume_all(connection)

    assert received == [{"hello": "world"}]
    assert sorted(path.name for path in broker_dir.iterdir()) == ["control", "out", "processed"]
