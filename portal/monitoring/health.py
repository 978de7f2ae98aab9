"""`/health/`: 200 when every dependency is up, 503 naming the failing check.

django-health-check runs the checks and answers HTML, plain text (`?format=text`) or
JSON (`?format=json` or `Accept: application/json`). The checks: the database, the
cache, Celery's broker, the default file storage, beat (the auto-close sweep finished
recently) and the outbox (no email waits long past its send time).

What it says is public: each failing check gives a fixed sentence of ours, never a
driver's message (those can name hosts); the details go to the log.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import tempfile
from concurrent.futures import Executor, Future
from datetime import timedelta
from typing import ClassVar

from asgiref.sync import async_to_sync, iscoroutinefunction, sync_to_async
from django.conf import settings
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import resolve
from django.utils import timezone
from health_check import checks as library
from health_check.base import HealthCheck
from health_check.exceptions import HealthCheckException, ServiceUnavailable
from health_check.views import HealthCheckView

from portal.monitoring import sweeps

PATH = "/health/"


@dataclasses.dataclass
class Database(library.Database):
    name: ClassVar[str] = "database"

    def run(self) -> None:
        try:
            super().run()
        except HealthCheckException as error:
            # The driver's message may name the server.
            raise ServiceUnavailable("Cannot query the database") from error


@dataclasses.dataclass
class Cache(library.Cache):
    name: ClassVar[str] = "cache"


@dataclasses.dataclass
class Storage(library.Storage):
    """Writes, reads and deletes a small file in the default storage (attachments)."""

    name: ClassVar[str] = "storage"


@dataclasses.dataclass
class Broker(HealthCheck):
    """Celery's broker takes a connection: Redis answers a PING; the filesystem
    transport (the local default) has its folders and a file can be made in them."""

    name: ClassVar[str] = "broker"

    def run(self) -> None:
        from portal.celery import app

        try:
            # A connection of its own, not one from the publishing pool, so that a
            # broker that went away since is noticed now.
            with app.connection_for_write() as connection:
                connection.ensure_connection(max_retries=0)
                channel = connection.default_channel
                match connection.transport.driver_type:
                    case "redis":
                        channel.client.ping()
                    case "filesystem":
                        # Its channel made the folders; where messages are written:
                        with tempfile.TemporaryFile(dir=channel.data_folder_out):
                            pass
        except Exception as error:
            raise ServiceUnavailable("Cannot reach the Celery broker") from error


@dataclasses.dataclass
class Beat(HealthCheck):
    """The auto-close sweep, which beat queues every CASE_SWEEP_INTERVAL_SECONDS,
    finished within twice that interval (`portal.monitoring.sweeps`). With no record yet
    (a fresh system, a flushed cache), the first probe starts a grace period as long."""

    name: ClassVar[str] = "beat"

    def run(self) -> None:
        now = timezone.now()
        try:
            record = sweeps.last_completed()
            since = record.finished_at if record else sweeps.watching_since(now)
        except Exception as error:
            raise ServiceUnavailable("Cannot read the last sweep's record") from error
        allowed = sweeps.allowed_gap()
        if now - since <= allowed:
            return
        if record is None:
            raise ServiceUnavailable(
                f"No auto-close sweep has finished in the {minutes(now - since)} minutes "
                f"since the first check; beat queues one every "
                f"{minutes(allowed / 2)} minutes"
            )
        raise ServiceUnavailable(
            f"The last auto-close sweep finished {minutes(now - since)} minutes ago; "
            f"beat queues one every {minutes(allowed / 2)} minutes"
        )


@dataclasses.dataclass
class Outbox(HealthCheck):
    """No email is still queued HEALTH_OUTBOX_MAX_AGE_SECONDS after its send time: the
    worker and the relay keep the outbox flowing."""

    name: ClassVar[str] = "outbox"

    def run(self) -> None:
        from cases.models import Notification, NotificationState

        max_age = timedelta(seconds=settings.HEALTH_OUTBOX_MAX_AGE_SECONDS)
        try:
            # The partial index `notification_unsent` (queued and sending, by send time).
            late = Notification.objects.filter(
                state=NotificationState.QUEUED, next_attempt_at__lt=timezone.now() - max_age
            ).exists()
        except DatabaseError as error:
            raise ServiceUnavailable("Cannot read the outbox") from error
        if late:
            raise ServiceUnavailable(
                f"Emails are queued more than {minutes(max_age)} minutes past their send time"
            )


def minutes(duration: timedelta) -> int:
    return int(duration.total_seconds() // 60)


class _InRequestThread(Executor):
    """Runs each synchronous check in the request's own thread, one after another, as
    Django runs sync code called from an async view (asgiref's thread-sensitive mode):
    the checks use the request's database connection instead of opening one per probe
    in a pool thread."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop

    def submit(self, fn, /, *args, **kwargs) -> Future:
        return asyncio.run_coroutine_threadsafe(sync_to_async(fn)(*args, **kwargs), self.loop)


class HealthView(HealthCheckView):
    checks = (Database, Cache, Broker, Storage, Beat, Outbox)

    async def get(self, request, *args, **kwargs):
        response = await super().get(request, *args, **kwargs)
        # The library answers a failing check with 500; load balancers expect 503.
        if response.status_code == 500:
            response.status_code = 503
        return response

    def get_executor(self):
        return contextlib.nullcontext(_InRequestThread(asyncio.get_running_loop()))

    def render_to_response_json(self, status: int) -> JsonResponse:
        failing = [result.check.name for result in self.results if result.error]
        return JsonResponse(
            {
                "status": "unavailable" if failing else "ok",
                "failing": failing,
                "checks": {
                    result.check.name: str(result.error) if result.error else "OK"
                    for result in self.results
                },
            },
            status=status,
        )

    def render_to_response_text(self, status: int) -> HttpResponse:
        lines = (f"{result.check.name}: {result.error or 'OK'}\n" for result in self.results)
        return HttpResponse(
            "".join(lines), content_type="text/plain; charset=utf-8", status=status
        )


class HealthProbeMiddleware:
    """Answer GET and HEAD `/health/` before the rest of the stack.

    A load balancer probes each server by its address, a Host that is not in
    ALLOWED_HOSTS: CommonMiddleware would answer it 400. The answer does not depend on
    the Host and carries no cookie, session or personal data, so it is served to any
    Host (production exempts the path from the HTTPS redirect too). Placed after
    SecurityMiddleware, which adds its headers; sessions, users and CSRF are skipped,
    which also keeps the probe cheap.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info != PATH or request.method not in ("GET", "HEAD"):
            return self.get_response(request)
        match = resolve(PATH)
        request.resolver_match = match  # for the request metrics' view label
        view = async_to_sync(match.func) if iscoroutinefunction(match.func) else match.func
        response = view(request, *match.args, **match.kwargs)
        # The HTML page is a TemplateResponse, which Django's handler would render.
        return response.render() if hasattr(response, "render") else response
