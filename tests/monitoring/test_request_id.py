"""A request id follows each request through the log and into the tasks it queues."""

from __future__ import annotations

import logging
import re

import pytest
from celery.signals import before_task_publish

from portal.celery import app as celery_app
from portal.monitoring import request_id
from portal.settings.base import logging_config
from tests.monitoring.logs import json_log_lines, log_a_line, logger

pytestmark = pytest.mark.django_db

HEX_UUID = re.compile(r"[0-9a-f]{32}")


@pytest.fixture
def log_lines():
    with json_log_lines() as lines:
        yield lines


# --- The response -----------------------------------------------------------------------


def test_each_response_carries_a_new_request_id(client):
    first = client.get("/help/case-statuses/")["X-Request-ID"]
    second = client.get("/help/case-statuses/")["X-Request-ID"]

    assert HEX_UUID.fullmatch(first) and HEX_UUID.fullmatch(second)
    assert first != second


@pytest.mark.parametrize(
    "incoming", ["5f0c4b1e-8d0e-4c57-9d43-3f1b8a0e2d11", "Root.1-67891233_abcdef", "a" * 128]
)
def test_a_sane_incoming_request_id_is_kept(client, incoming):
    response = client.get("/help/case-statuses/", HTTP_X_REQUEST_ID=incoming)

    assert response["X-Request-ID"] == incoming


@pytest.mark.parametrize(
    "incoming",
    [
        "",
        "short",
        "a" * 129,
        "two words here",
        "abcdefgh\nforged log line",
        "abc\"def'ghi",
        "é" * 10,
    ],
)
def test_an_odd_incoming_request_id_is_replaced(client, incoming):
    response = client.get("/help/case-statuses/", HTTP_X_REQUEST_ID=incoming)

    assert HEX_UUID.fullmatch(response["X-Request-ID"])


def test_health_probes_get_one_too(client):
    assert HEX_UUID.fullmatch(client.get("/health/")["X-Request-ID"])


# --- The log --------------------------------------------------------------------------


def test_log_lines_of_a_request_carry_its_id(client, log_lines):
    response = client.get("/no-such-page/", HTTP_X_REQUEST_ID="probe-0001")

    [line] = [line for line in log_lines() if line["logger"] == "django.request"]
    assert line["request_id"] == response["X-Request-ID"] == "probe-0001"
    assert line["level"] == "WARNING"
    assert line["message"] == "Not Found: /no-such-page/"
    assert set(line) == {"time", "level", "logger", "message", "request_id", "status_code"}


def test_the_id_is_on_lines_django_writes_after_the_middleware_returned(client, log_lines):
    """Django logs an error response the middleware returned (here a 413) only once it
    leaves the middleware: the id is cleared when the response is closed, not before."""
    response = client.post(
        "/cases/new/", data=b"", content_type="text/plain", CONTENT_LENGTH=str(10**9)
    )

    assert response.status_code == 413
    [line] = [line for line in log_lines() if line["logger"] == "django.request"]
    assert line["request_id"] == response["X-Request-ID"]


def test_lines_outside_a_request_say_so(client, log_lines):
    client.get("/help/case-statuses/")

    logger.warning("Between requests")

    [line] = log_lines()
    assert line["request_id"] == request_id.NONE == "-"


def test_plain_lines_show_the_id_too(client):
    config = logging_config("plain", "INFO")
    formatter = logging.Formatter(config["formatters"]["plain"]["format"])
    record = logger.makeRecord(logger.name, logging.INFO, __file__, 1, "Hello", (), None)
    request_id.RequestIdFilter().filter(record)

    assert formatter.format(record).endswith(" INFO tests.monitoring [-] Hello")


# --- Into tasks -----------------------------------------------------------------------


# `get(disable_sync_subtasks=False)` on the eager results below: a real worker started
# earlier in this process (tests/integration) leaves Celery believing it runs inside a task.


def test_a_task_run_inline_logs_with_the_id_of_its_request(log_lines):
    token = request_id._current.set("request-from-web")
    try:
        assert log_a_line.delay().get(disable_sync_subtasks=False) == "request-from-web"
        assert request_id.current() == "request-from-web"  # the request's, after the task
    finally:
        request_id._current.reset(token)

    [line] = [line for line in log_lines() if line["message"] == "In the task"]
    assert line["request_id"] == "request-from-web"


@pytest.fixture
def published_headers(monkeypatch):
    """The headers of the messages the app publishes, to the in-memory broker."""
    monkeypatch.setattr(celery_app.conf, "task_always_eager", False)
    seen: list[dict] = []

    def keep(headers=None, **kwargs):
        seen.append(dict(headers))

    before_task_publish.connect(keep, weak=False)
    yield seen
    before_task_publish.disconnect(keep)
    with celery_app.connection_for_write() as connection:
        connection.default_channel.queue_purge(celery_app.conf.task_default_queue)


def test_a_published_task_carries_the_id_in_its_message_headers(published_headers):
    token = request_id._current.set("request-from-web")
    try:
        log_a_line.delay()
    finally:
        request_id._current.reset(token)
    log_a_line.delay()  # queued by beat or a command: no request

    first, second = published_headers
    assert first[request_id.TASK_HEADER] == "request-from-web"
    assert request_id.TASK_HEADER not in second


def test_the_worker_logs_the_task_with_the_id_from_its_headers(log_lines):
    result = log_a_line.apply(headers={request_id.TASK_HEADER: "request-from-web"})

    assert result.get(disable_sync_subtasks=False) == "request-from-web"
    assert request_id.current() is None  # not left behind for the next task
    [line] = [line for line in log_lines() if line["message"] == "In the task"]
    assert line["request_id"] == "request-from-web"


def test_a_forged_id_in_a_task_header_is_ignored(log_lines):
    result = log_a_line.apply(headers={request_id.TASK_HEADER: "forged\nline"})

    assert result.get(disable_sync_subtasks=False) is None
