"""A real Celery worker (in a thread of the test process) on the configured broker.

`make test` points `CELERY_BROKER_URL` at Redis; tasks published by the code under test
go through it to this worker, which talks to the test database like production does.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import time
from collections.abc import Callable, Iterator

import pytest
from celery.contrib.testing.worker import start_worker
from kombu import Queue

from portal.celery import app as celery_app
from portal.models import SUPPORT_ENGINEERS_GROUP

# One copy of each queue per test process: what one process's tests publish only its own
# worker consumes, even when xdist spreads these tests over processes (pytest 9 stores node
# ids where pytest-xdist 3.8's loadgroup cannot tag them, so xdist_group alone is not
# enough). Tasks keep the routes of settings: emails to the copy of `email`, the rest to
# the copy of `celery`, and the worker consumes both, as the Procfile's does.
TEST_QUEUE_PREFIX = f"portal-tests-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}-"
ROUTING_SETTINGS = ("task_default_queue", "task_queues", "task_routes")


def process_queue(name: str) -> str:
    """This process's copy of the queue `name` of settings."""
    return f"{TEST_QUEUE_PREFIX}{name}"


def _forget_routing() -> None:
    # The routing Celery derived from the settings is cached: derive it again.
    for name in ("default_queue", "queues", "router", "send_task_message", "create_task_message"):
        celery_app.amqp.__dict__.pop(name, None)
    celery_app.amqp.flush_routes()


@contextlib.contextmanager
def process_queues() -> Iterator[list[str]]:
    """Route tasks to this process's copies of the queues while it lasts; yields their names."""
    saved = {name: celery_app.conf[name] for name in ROUTING_SETTINGS}
    queues = [
        Queue(process_queue(queue.name), routing_key=process_queue(queue.name))
        for queue in saved["task_queues"]
    ]
    celery_app.conf.task_default_queue = process_queue(saved["task_default_queue"])
    celery_app.conf.task_queues = queues
    celery_app.conf.task_routes = {
        task: {**route, "queue": process_queue(route["queue"])}
        for task, route in saved["task_routes"].items()
    }
    _forget_routing()
    try:
        yield [queue.name for queue in queues]
    finally:
        for name, value in saved.items():
            celery_app.conf[name] = value
        _forget_routing()


def reset_producer_pool() -> None:
    """Forget the app's producer pool, so the next publish uses `broker_url` as set now.

    kombu keeps one pool per broker URL: the real broker's pool is found again as it was.
    """
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.fixture
def anymail_test_mailer(settings):
    """Anymail's test backend: it records each sent message (and a message id)."""
    settings.MAILERS = {"default": {"BACKEND": "anymail.backends.test.EmailBackend"}}


@pytest.fixture
def support_engineers_group(transactional_db) -> None:
    """The data migration's group: the flush after every transactional test empties it."""
    from django.contrib.auth.models import Group, Permission

    migration = importlib.import_module("cases.migrations.0003_support_engineers_and_guards")
    group, _ = Group.objects.get_or_create(name=SUPPORT_ENGINEERS_GROUP)
    for app_label, model, codenames in migration.PERMISSIONS:
        group.permissions.add(
            *Permission.objects.filter(
                content_type__app_label=app_label,
                content_type__model=model,
                codename__in=codenames,
            )
        )


@pytest.fixture
def celery_worker_factory(transactional_db, support_engineers_group) -> Iterator[Callable]:
    """Start a real worker when the test says so (some tests act before it is up)."""
    celery_app.conf.task_always_eager = False
    started: list[contextlib.AbstractContextManager] = []
    with process_queues() as queues:
        with celery_app.connection_for_write() as connection:
            # Our Redis database is private, but a crashed run may have left tasks behind.
            for queue in queues:
                connection.default_channel.queue_purge(queue)

        def start():
            worker = start_worker(
                celery_app,
                pool="solo",
                concurrency=1,
                perform_ping_check=False,
                shutdown_timeout=10,
            )
            started.append(worker)
            return worker.__enter__()

        yield start
        for worker in reversed(started):
            worker.__exit__(None, None, None)
    reset_producer_pool()


@pytest.fixture
def celery_worker(celery_worker_factory):
    return celery_worker_factory()


def wait_until(predicate: Callable[[], bool], *, timeout: float = 20) -> None:
    """Poll what a worker thread does, up to `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("Timed out waiting for the worker.")
        time.sleep(0.05)
