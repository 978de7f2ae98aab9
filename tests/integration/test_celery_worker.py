"""Notifications through a real worker, the real broker and PostgreSQL."""

from __future__ import annotations

import contextlib
import socket
import time
from datetime import timedelta

import pytest
import requests
from anymail.backends.test import EmailBackend as AnymailTestBackend
from anymail.exceptions import AnymailAPIError
from django.core import mail
from django.utils import timezone

from cases import outbox, services
from cases.models import InfoRequestKind, Notification, NotificationState
from cases.tasks import relay_notifications_task, send_notification
from portal.celery import app as celery_app
from tests.factories import CaseFactory
from tests.integration.conftest import reset_producer_pool, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("celery")]


def request_info(case) -> None:
    services.case_request_info(
        case=case,
        engineer=case.assignee,
        message="Please send the logs.",
        kind=InfoRequestKind.LOGS,
    )


def state_of(row_id: int) -> str:
    return Notification.objects.get(pk=row_id).state


def test_transition_email_is_sent_exactly_once(celery_worker, anymail_test_mailer):
    case = CaseFactory(in_progress=True)
    request_info(case)  # commits: the on-commit hook publishes the task to the broker
    row = Notification.objects.get()

    wait_until(lambda: state_of(row.pk) == NotificationState.SENT)
    [email] = mail.outbox
    assert email.to == [case.requester.email]
    assert email.metadata == {"notification_id": str(row.pk), "case": case.reference}
    row.refresh_from_db()
    assert row.attempts == 1
    assert row.provider_message_id == "0"  # Anymail's test backend: index in the outbox

    # A duplicate task (redelivery) and the relay sweep change nothing.
    send_notification.delay(row.pk)
    relay_notifications_task.delay()
    marker = CaseFactory(in_progress=True)
    request_info(marker)  # the worker handles tasks in order: this one comes last
    wait_until(lambda: len(mail.outbox) == 2)
    assert [e.to for e in mail.outbox] == [[case.requester.email], [marker.requester.email]]
    row.refresh_from_db()
    assert row.attempts == 1


def tasks_waiting_on_the_real_broker() -> int:
    with celery_app.connection_for_write() as connection:
        client = connection.default_channel.client
        return sum(client.llen(queue) for queue in celery_app.amqp.queues)


@contextlib.contextmanager
def publishing_to(url: str):
    """Web processes publish to `url` (a broker that is down) while this lasts."""
    real_url = celery_app.conf.broker_write_url
    celery_app.conf.broker_write_url = url
    reset_producer_pool()
    try:
        yield
    finally:
        celery_app.conf.broker_write_url = real_url
        reset_producer_pool()


def test_broker_unreachable_at_commit_then_the_relay_sends_it(
    celery_worker_factory, anymail_test_mailer, client, time_machine
):
    case = CaseFactory(pending_customer=True)
    client.force_login(case.requester)
    with publishing_to("redis://127.0.0.1:1/0"):  # nothing listens on port 1
        started = time.monotonic()
        response = client.post(f"/cases/{case.reference}/reply/", {"body": "Logs attached."})
        elapsed = time.monotonic() - started

    assert response.status_code == 302  # the customer's reply is saved
    assert elapsed < 3, elapsed
    assert tasks_waiting_on_the_real_broker() == 0  # the publish failed; nothing was sent
    row = Notification.objects.get()
    assert row.state == NotificationState.QUEUED
    assert row.to_email == case.assignee.email

    celery_worker_factory()
    time_machine.move_to(timezone.now() + outbox.relay_grace(), tick=True)
    relay_notifications_task.delay()  # what beat does every minute
    wait_until(lambda: state_of(row.pk) == NotificationState.SENT)
    [email] = mail.outbox
    assert "Logs attached." in email.body


def test_broker_that_never_answers_does_not_hang_the_request(
    celery_worker_factory, anymail_test_mailer, client
):
    case = CaseFactory(pending_customer=True)
    client.force_login(case.requester)
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # the kernel accepts connections; nobody ever answers
        with publishing_to(f"redis://127.0.0.1:{silent.getsockname()[1]}/0"):
            started = time.monotonic()
            response = client.post(f"/cases/{case.reference}/reply/", {"body": "Logs attached."})
            elapsed = time.monotonic() - started

    assert response.status_code == 302
    assert tasks_waiting_on_the_real_broker() == 0  # the publish failed; nothing was sent
    # Bounded by the Redis socket timeout (2 s); without it this request never returned.
    assert 1.5 < elapsed < 8, elapsed
    assert Notification.objects.get().state == NotificationState.QUEUED


def provider_error(status_code: int, reason: str) -> AnymailAPIError:
    response = requests.Response()
    response.status_code = status_code
    response.reason = reason
    response._content = b'{"message": "%s"}' % reason.encode()
    return AnymailAPIError(
        f"ESP API response {status_code}", status_code=status_code, response=response
    )


class FailingProvider(AnymailTestBackend):
    """Anymail's test backend behind a provider that first answers with errors."""

    errors: list[AnymailAPIError] = []

    def send_messages(self, email_messages):
        if FailingProvider.errors:
            raise FailingProvider.errors.pop(0)
        return super().send_messages(email_messages)


@pytest.fixture
def failing_provider(settings):
    settings.MAILERS = {
        "default": {"BACKEND": "tests.integration.test_celery_worker.FailingProvider"}
    }
    settings.NOTIFICATION_RETRY_BACKOFF_SECONDS = 1
    yield FailingProvider
    FailingProvider.errors = []


def test_temporary_provider_error_is_retried_then_sent(celery_worker, failing_provider):
    failing_provider.errors = [provider_error(503, "Service Unavailable")] * 2
    case = CaseFactory(in_progress=True)
    request_info(case)
    row = Notification.objects.get()

    wait_until(lambda: state_of(row.pk) == NotificationState.SENT)
    row.refresh_from_db()
    assert row.attempts == 3
    assert len(mail.outbox) == 1
    assert row.sent_at - row.created_at >= timedelta(seconds=0.5 + 1)  # two backoffs


def test_permanent_provider_error_is_marked_failed(celery_worker, failing_provider):
    failing_provider.errors = [provider_error(422, "Unprocessable Entity")]
    case = CaseFactory(in_progress=True)
    request_info(case)
    row = Notification.objects.get()

    wait_until(lambda: state_of(row.pk) == NotificationState.FAILED)
    row.refresh_from_db()
    assert row.attempts == 1
    assert "422" in row.last_error
    assert mail.outbox == []
