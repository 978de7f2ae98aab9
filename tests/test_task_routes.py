"""Emails on a queue of their own: a mail backlog never delays the sweep or the clocks.

Tasks that talk to the email provider go to `email`; every other task, and everything
beat schedules, to Celery's default `celery`. The Procfile's worker consumes both, and
so does a worker started without -Q.
"""

from pathlib import Path

import pytest
from django.conf import settings

from portal.celery import app as celery_app

REPO = Path(__file__).resolve().parents[1]

# Every task of the portal and its queue: a new task must be added here, on purpose.
DESIGN = {
    "cases.tasks.send_notification": "email",
    "cases.tasks.send_notifications_task": "email",
    "portal.tasks.send_password_reset": "email",
    "cases.tasks.close_stale_cases_task": "celery",
    "cases.tasks.relay_notifications_task": "celery",
    "cases.tasks.check_service_levels_task": "celery",
    "cases.tasks.recompute_service_levels_task": "celery",
    "cases.tasks.send_reminders_task": "celery",
    "cases.tasks.send_daily_digests_task": "celery",
}


def queue_of(task_name: str) -> str:
    return celery_app.amqp.router.route({}, task_name)["queue"].name


def portal_tasks() -> set[str]:
    import cases.tasks  # noqa: F401 - each module registers its tasks
    import portal.tasks  # noqa: F401

    return {name for name in celery_app.tasks if name.startswith(("cases.", "portal."))}


def test_every_task_of_the_portal_is_routed_as_designed():
    assert portal_tasks() == set(DESIGN)
    assert {name: queue_of(name) for name in DESIGN} == DESIGN


def test_beat_schedules_nothing_on_the_email_queue():
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "cases.tasks.close_stale_cases_task" in scheduled
    assert {queue_of(task) for task in scheduled} == {"celery"}


def test_a_worker_without_queues_named_consumes_both():
    assert celery_app.conf.task_default_queue == "celery"
    assert sorted(celery_app.amqp.queues) == ["celery", "email"]


def procfile(name: str) -> dict[str, str]:
    lines = (REPO / name).read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if line.strip() and line[0] != "#")


@pytest.mark.parametrize("name", ["Procfile", "Procfile.dev"])
def test_the_procfiles_worker_consumes_both_queues(name):
    worker = procfile(name)["worker"]
    assert "-Q " in worker
    queues = worker.split("-Q ", 1)[1].split()[0]
    # Procfile: `${WORKER_QUEUES:-celery,email}`, so one worker per queue is one variable.
    assert queues.removeprefix("${WORKER_QUEUES:-").removesuffix("}") == "celery,email"


def test_published_tasks_land_on_their_queues(settings):
    """Through a real (in-memory) broker: a send on `email`, the sweep on `celery`."""
    from cases.tasks import close_stale_cases_task, send_notification

    celery_app.conf.task_always_eager = False
    # Whatever broker the suite runs on (make test: Redis), this test uses its own.
    with celery_app.connection_for_write("memory://") as connection:
        channel = connection.default_channel
        for queue in celery_app.amqp.queues.values():
            queue(channel).declare()
            channel.queue_purge(queue.name)
        send_notification.apply_async((1,), connection=connection)
        close_stale_cases_task.apply_async(connection=connection)
        assert channel._size("email") == 1
        assert channel._size("celery") == 1
        for queue in ("celery", "email"):
            channel.queue_purge(queue)
