"""A request's id reaches the log lines of the tasks it queues, through the real broker
and a real worker."""

from __future__ import annotations

import pytest
from django.http import HttpResponse
from django.test import RequestFactory

from portal.monitoring.request_id import RequestIdMiddleware
from tests.integration.conftest import wait_until
from tests.monitoring.logs import json_log_lines, log_a_line

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("celery")]


def test_a_task_queued_by_a_request_logs_with_its_id(celery_worker):
    def view(request):
        log_a_line.delay()
        return HttpResponse("queued")

    request = RequestFactory().get("/", HTTP_X_REQUEST_ID="probe-from-the-edge-1")
    with json_log_lines() as lines:
        response = RequestIdMiddleware(view)(request)
        response.close()  # as the WSGI server does: the request is over
        log_a_line.delay()  # queued outside any request (as beat does)

        def task_lines():
            return [line for line in lines() if line["message"] == "In the task"]

        wait_until(lambda: len(task_lines()) == 2)

    assert response["X-Request-ID"] == "probe-from-the-edge-1"
    assert [line["request_id"] for line in task_lines()] == ["probe-from-the-edge-1", "-"]
