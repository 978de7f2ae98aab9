"""The Celery app (`portal.celery:app`): worker and beat read `CELERY_*` from settings."""

import os
from pathlib import Path

from celery import Celery
from celery.beat import PersistentScheduler
from celery.signals import setup_logging

# Connects the signals that carry a request's id into the tasks it queues.
from portal.monitoring import request_id  # noqa: F401

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@setup_logging.connect
def keep_django_logging(**kwargs) -> None:
    """Worker and beat log through Django's LOGGING, set up with Django, rather than
    Celery's own handlers and level: the same lines as the web's (JSON in production),
    with the request id, at LOG_LEVEL."""


class Scheduler(PersistentScheduler):
    """Celery's schedule in a file, whose folder (var/) beat makes when it starts."""

    def setup_schedule(self) -> None:
        Path(self.schedule_filename).parent.mkdir(parents=True, exist_ok=True)
        super().setup_schedule()
