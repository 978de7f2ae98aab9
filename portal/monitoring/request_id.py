"""One id per request, on every log line the request writes and on those of the tasks
it queues.

`RequestIdMiddleware` takes the id from an incoming `X-Request-ID` when it looks like
one (a proxy's or load balancer's, so their logs and ours match), otherwise makes one,
and returns it in the response's `X-Request-ID`. It lives in a context variable, which
`RequestIdFilter` writes on each log record. A task published while it is set carries
it in a message header, and the worker sets it again around the task's run.
"""

from __future__ import annotations

import logging
import re
import uuid
from contextvars import ContextVar

from celery.signals import before_task_publish, task_postrun, task_prerun
from django.core.signals import request_finished

HEADER = "X-Request-ID"
# The Celery message header that carries it to the worker.
TASK_HEADER = "portal_request_id"
# Letters, digits and `._-` only: whatever a client sends ends up in the log verbatim.
SANE = re.compile(r"[A-Za-z0-9._-]{8,128}")
# What a log line shows outside any request or task that carries one.
NONE = "-"

_current: ContextVar[str | None] = ContextVar("request_id", default=None)


def current() -> str | None:
    return _current.get()


def clean(value: str | None) -> str | None:
    """`value` if it is a sane request id, else None."""
    return value if value and SANE.fullmatch(value) else None


class RequestIdMiddleware:
    """Set the request id for the request, and return it in the response."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = clean(request.headers.get(HEADER)) or uuid.uuid4().hex
        request.request_id = request_id
        # Left set until the response is closed (`_clear`): Django logs an error
        # response after the middleware have returned it.
        _current.set(request_id)
        _tag_sentry_scope(request_id)
        response = self.get_response(request)
        response[HEADER] = request_id
        return response


def _tag_sentry_scope(request_id: str) -> None:
    import sentry_sdk

    # Does nothing unless SENTRY_DSN is set.
    sentry_sdk.set_tag("request_id", request_id)


def _clear(**kwargs) -> None:
    _current.set(None)


request_finished.connect(_clear, dispatch_uid="portal.monitoring.request_id.clear")


class RequestIdFilter(logging.Filter):
    """Give each record a `request_id` (NONE outside a request or task that has one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = _current.get() or NONE
        return True


# --- Into the tasks a request queues --------------------------------------------------


def _carry(headers: dict | None = None, **kwargs) -> None:
    request_id = _current.get()
    if request_id and headers is not None:
        headers.setdefault(TASK_HEADER, request_id)


def _restore(task=None, **kwargs) -> None:
    if task is None:
        return
    # A worker puts message headers on the request itself; `apply(headers=...)` nests them.
    headers = task.request.headers or {}
    request_id = clean(task.request.get(TASK_HEADER) or headers.get(TASK_HEADER))
    # A task run inline (eager) has no header and keeps its caller's id.
    if request_id:
        task.request.request_id_token = _current.set(request_id)


def _forget(task=None, **kwargs) -> None:
    token = getattr(task.request, "request_id_token", None) if task is not None else None
    if token is not None:
        _current.reset(token)
        task.request.request_id_token = None


before_task_publish.connect(_carry, dispatch_uid="portal.monitoring.request_id.carry")
task_prerun.connect(_restore, dispatch_uid="portal.monitoring.request_id.restore")
task_postrun.connect(_forget, dispatch_uid="portal.monitoring.request_id.forget")
