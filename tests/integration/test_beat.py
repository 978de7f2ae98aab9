"""The beat schedule in settings, driven by Celery's own scheduler, run by a real worker."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
from celery.beat import Scheduler
from celery.schedules import crontab
from django.core import mail
from django.utils import timezone

from cases import services
from cases.models import Notification, NotificationKind, NotificationState, Status
from portal.celery import app as celery_app
from tests.factories import CaseFactory, days
from tests.integration.conftest import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("celery")]

SWEEP = "cases.tasks.close_stale_cases_task"
RELAY = "cases.tasks.relay_notifications_task"
REMINDERS = "cases.tasks.send_reminders_task"
DIGEST = "cases.tasks.send_daily_digests_task"


def test_schedule_runs_the_sweep_every_15_minutes_the_relay_every_minute_reminders_hourly():
    scheduler = Scheduler(app=celery_app, lazy=False)
    by_task = {entry.task: entry.schedule for entry in scheduler.schedule.values()}

    assert by_task[SWEEP].run_every == timedelta(minutes=15)
    assert by_task[RELAY].run_every == timedelta(minutes=1)
    reminders = by_task[REMINDERS]
    assert isinstance(reminders, crontab)
    assert len(reminders.minute) == 1
    assert len(reminders.hour) == 24


def test_beat_ticks_send_the_scheduled_tasks_and_the_worker_does_the_work(
    celery_worker, anymail_test_mailer
):
    now = timezone.now()
    overdue = CaseFactory(
        pending_customer=True, pending_since=now - days(14) - timedelta(minutes=1)
    )
    week_left = CaseFactory(
        pending_customer=True, pending_since=now - days(7) - timedelta(minutes=1)
    )
    resolved = CaseFactory(in_progress=True)
    with mock.patch("cases.outbox.triggers.enqueue"):  # the task is lost: broker down
        services.case_resolve(case=resolved, engineer=resolved.assignee)
    lost = Notification.objects.get(case=resolved)
    Notification.objects.filter(pk=lost.pk).update(next_attempt_at=now - timedelta(minutes=5))

    scheduler = Scheduler(app=celery_app, lazy=False)
    for entry in scheduler.schedule.values():
        entry.last_run_at = now - timedelta(hours=2)  # beat was last up two hours ago
    # The digest's hour may or may not fall in those two hours: leave it out here.
    next(e for e in scheduler.schedule.values() if e.task == DIGEST).last_run_at = now
    sent = []
    with mock.patch.object(scheduler, "apply_async", wraps=scheduler.apply_async) as apply:
        while scheduler.tick() == 0:  # one due entry per tick
            pass
        sent = [call.args[0].task for call in apply.call_args_list]
    assert {SWEEP, RELAY, REMINDERS} <= set(sent)
    # Nothing is due now; the next one is the relay, within a minute.
    assert 0 < scheduler.tick() <= 60

    def done() -> bool:
        return (
            Notification.objects.filter(state=NotificationState.SENT).count() == 4
            and not Notification.objects.exclude(state=NotificationState.SENT).exists()
        )

    wait_until(done)
    overdue.refresh_from_db()
    assert overdue.status == Status.CLOSED
    kinds = sorted(Notification.objects.values_list("case_id", "kind"))
    assert kinds == sorted(
        [
            (overdue.pk, NotificationKind.AUTO_CLOSED),
            (overdue.pk, NotificationKind.ENGINEER_AUTO_CLOSED),
            (week_left.pk, NotificationKind.REMINDER),
            (resolved.pk, NotificationKind.RESOLVED),
        ]
    )
    assert sorted(email.to[0] for email in mail.outbox) == sorted(
        [
            overdue.requester.email,
            overdue.assignee.email,
            week_left.requester.email,
            resolved.requester.email,
        ]
    )
