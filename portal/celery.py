"""The Celery app (`portal.celery:app`): worker and beat read `CELERY_*` from settings."""

import os
from pathlib import Path

from celery import Celery
from celery.beat import PersistentScheduler

# Connects the signals that carry a request's id into the tasks it queues.
from portal.monitoring import request_id  # noqa: F401

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


class Scheduler(PersistentScheduler):
    """Celery's schedule in a file, whose folder (var/) beat makes when it starts."""

    def setup_schedule(self) -> None:
        Path(self.schedule_filename).parent.mkdir(parents=True, exist_ok=True)
        super().setup_schedule()
