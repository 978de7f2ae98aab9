"""/metrics: Prometheus's text format for a scraper holding METRICS_TOKEN, a 404 for
anyone else. Counters are counted where things happen; the rest is read at scrape time.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from cases.inbound.receive import record_unreadable
from cases.models import (
    InboundOutcome,
    InboundReason,
    Notification,
    NotificationKind,
    NotificationState,
    Status,
)
from cases.tasks import close_stale_cases_task
from tests.cases import email_webhooks as hooks
from tests.factories import CaseFactory, days

pytestmark = pytest.mark.django_db

TOKEN = "metrics-token-for-the-tests"
BASE_DIR = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _token(settings):
    settings.METRICS_TOKEN = TOKEN


def scrape(client) -> dict:
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200, response.content
    return {f.name: f for f in text_string_to_metric_families(response.content.decode())}


def sample(families: dict, family: str, name: str | None = None, **labels) -> float:
    """The value of one series (0 when the series does not exist yet)."""
    for found in families[family].samples if family in families else []:
        if found.name == (name or family) and found.labels == labels:
            return found.value
    return 0.0


def notification(state=NotificationState.QUEUED, **fields) -> Notification:
    return Notification.objects.create(
        kind=NotificationKind.RESOLVED,
        to_email="customer@example.com",
        subject="Resolved",
        dedupe_key=f"metrics-{Notification.objects.count()}",
        state=state,
        **fields,
    )


# --- Who may read them ----------------------------------------------------------------


@pytest.mark.parametrize("authorization", [None, "Bearer ", "Bearer anything"])
def test_without_a_configured_token_metrics_is_not_there(client, settings, authorization):
    settings.METRICS_TOKEN = ""
    extra = {"HTTP_AUTHORIZATION": authorization} if authorization is not None else {}

    assert client.get("/metrics", **extra).status_code == 404


@pytest.mark.parametrize(
    "authorization",
    [None, "", f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}", f"Basic {TOKEN}", TOKEN, "Bearer"],
)
def test_without_the_right_token_metrics_is_not_there(client, authorization):
    extra = {"HTTP_AUTHORIZATION": authorization} if authorization is not None else {}

    assert client.get("/metrics", **extra).status_code == 404


def test_with_the_token_metrics_are_served_and_never_cached(client):
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"bearer {TOKEN}")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    assert "no-store" in response["Cache-Control"]
    assert client.post("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 405


def test_a_scraper_asking_for_openmetrics_gets_it(client):
    response = client.get(
        "/metrics",
        HTTP_AUTHORIZATION=f"Bearer {TOKEN}",
        HTTP_ACCEPT="application/openmetrics-text; version=1.0.0",
    )

    assert response["Content-Type"].startswith("application/openmetrics-text")
    assert response.content.endswith(b"# EOF\n")


def test_every_family_is_there(client):
    close_stale_cases_task()  # the sweep's record
    record_unreadable(esp_name="postmark", raw=b"{", problem="JSONDecodeError")
    client.get("/help/case-statuses/")

    families = scrape(client)

    assert {
        "portal_http_request_duration_seconds",
        "portal_inbound_emails",
        "portal_cases_auto_closed",
        "portal_case_sweep_duration_seconds",
        "portal_cases",
        "portal_outbox_notifications",
        "portal_outbox_oldest_queued_seconds",
        "portal_case_sweep_last_completed_timestamp_seconds",
        "portal_case_sweep_last_duration_seconds",
        "portal_case_sweep_last_closed",
    } <= set(families)
    assert families["portal_cases_auto_closed"].type == "counter"
    assert families["portal_cases"].type == "gauge"


# --- Counted where they happen --------------------------------------------------------


def test_requests_are_counted_and_timed_per_view_method_and_status(client):
    before = scrape(client)

    client.get("/help/case-statuses/")
    client.get("/help/case-statuses/")
    client.get("/no-such-page/")
    after = scrape(client)

    def count(families, **labels):
        return sample(
            families,
            "portal_http_request_duration_seconds",
            "portal_http_request_duration_seconds_count",
            **labels,
        )

    page = {"view": "help:case_statuses", "method": "GET", "status": "200"}
    assert count(after, **page) - count(before, **page) == 2
    missing = {"view": "none", "method": "GET", "status": "404"}
    assert count(after, **missing) - count(before, **missing) == 1
    assert sample(
        after,
        "portal_http_request_duration_seconds",
        "portal_http_request_duration_seconds_sum",
        **page,
    ) > sample(
        before,
        "portal_http_request_duration_seconds",
        "portal_http_request_duration_seconds_sum",
        **page,
    )


def test_an_unknown_method_does_not_make_a_series_of_its_own(client):
    before = scrape(client)

    client.generic("BREW", "/help/case-statuses/")

    labels = {"view": "help:case_statuses", "method": "other", "status": "405"}
    name = "portal_http_request_duration_seconds"
    assert (
        sample(scrape(client), name, f"{name}_count", **labels)
        - sample(before, name, f"{name}_count", **labels)
        == 1
    )


def test_the_sweep_counts_its_closes_and_its_duration(client, time_machine):
    time_machine.move_to("2026-01-01 09:00Z", tick=False)
    CaseFactory(pending_customer=True)
    CaseFactory(resolved=True)
    time_machine.shift(days(15))
    before = scrape(client)

    close_stale_cases_task()
    close_stale_cases_task()  # nothing left to close
    after = scrape(client)

    name = "portal_cases_auto_closed"
    assert sample(after, name, f"{name}_total") - sample(before, name, f"{name}_total") == 2
    name = "portal_case_sweep_duration_seconds"
    assert sample(after, name, f"{name}_count") - sample(before, name, f"{name}_count") == 2
    assert sample(after, "portal_case_sweep_last_closed") == 0
    assert sample(after, "portal_case_sweep_last_completed_timestamp_seconds") == (
        timezone.now().timestamp()
    )


@pytest.mark.usefixtures("email_webhooks")
def test_inbound_emails_are_counted_by_outcome_and_reason(client, asked_case):
    name = "portal_inbound_emails"
    accepted = {"outcome": InboundOutcome.ACCEPTED, "reason": InboundReason.REPLY}
    stranger = {"outcome": InboundOutcome.REJECTED, "reason": InboundReason.UNKNOWN_SENDER}
    unreadable = {"outcome": InboundOutcome.REJECTED, "reason": InboundReason.UNREADABLE}
    before = scrape(client)

    payload = hooks.reply(asked_case, text="The logs are attached.")
    assert hooks.post_inbound(client, payload).status_code == 200
    assert hooks.post_inbound(client, payload).status_code == 200  # a retry: not counted
    hooks.post_inbound(client, hooks.reply(asked_case, from_email="nobody@elsewhere.example"))
    record_unreadable(esp_name="postmark", raw=b"{", problem="JSONDecodeError")
    record_unreadable(esp_name="postmark", raw=b"{", problem="JSONDecodeError")  # again
    after = scrape(client)

    for labels in (accepted, stranger, unreadable):
        delta = sample(after, name, f"{name}_total", **labels) - sample(
            before, name, f"{name}_total", **labels
        )
        assert delta == 1, labels


# --- Read at scrape time --------------------------------------------------------------


def test_cases_by_status_and_outbox_rows_by_state(client):
    CaseFactory.create_batch(2, in_progress=True)
    CaseFactory(resolved=True)
    for state in [NotificationState.SENT] * 3 + [NotificationState.QUEUED] * 2:
        notification(state)
    notification(NotificationState.SENDING)
    notification(NotificationState.FAILED)

    families = scrape(client)

    cases = {s.labels["status"]: s.value for s in families["portal_cases"].samples}
    assert cases == dict.fromkeys(Status.values, 0) | {Status.IN_PROGRESS: 2, Status.RESOLVED: 1}
    outbox = {s.labels["state"]: s.value for s in families["portal_outbox_notifications"].samples}
    assert outbox == dict.fromkeys(NotificationState.values, 0) | {
        NotificationState.SENT: 3,
        NotificationState.QUEUED: 2,
        NotificationState.SENDING: 1,
        NotificationState.FAILED: 1,
    }


def test_whole_table_counts_are_made_once_a_period_and_the_backlog_every_scrape(
    client, settings, time_machine
):
    settings.METRICS_COUNTS_MAX_AGE_SECONDS = 60
    time_machine.move_to("2026-01-01 09:00Z", tick=False)
    scrape(client)

    CaseFactory(in_progress=True)
    notification(NotificationState.SENT)
    notification(NotificationState.QUEUED)
    families = scrape(client)
    assert sample(families, "portal_cases", status=Status.IN_PROGRESS) == 0
    assert sample(families, "portal_outbox_notifications", state="sent") == 0
    assert sample(families, "portal_outbox_notifications", state="queued") == 1

    time_machine.shift(timedelta(seconds=61))
    families = scrape(client)
    assert sample(families, "portal_cases", status=Status.IN_PROGRESS) == 1
    assert sample(families, "portal_outbox_notifications", state="sent") == 1


def test_the_oldest_queued_email_is_measured_from_its_send_time(client, time_machine):
    time_machine.move_to("2026-01-01 09:00Z", tick=False)
    now = timezone.now()
    assert sample(scrape(client), "portal_outbox_oldest_queued_seconds") == 0

    notification(next_attempt_at=now - timedelta(minutes=7))
    notification(next_attempt_at=now - timedelta(minutes=2))
    notification(NotificationState.SENT, next_attempt_at=now - timedelta(days=2))
    notification(next_attempt_at=now + timedelta(minutes=5))  # a retry, later
    assert sample(scrape(client), "portal_outbox_oldest_queued_seconds") == 7 * 60


def test_a_database_outage_leaves_the_other_metrics_served(client, monkeypatch):
    from django.db import OperationalError

    def down():
        raise OperationalError("could not connect to server db.internal.example")

    monkeypatch.setattr("portal.monitoring.metrics._whole_table_counts", down)

    families = scrape(client)

    assert "portal_cases" not in families
    assert "portal_http_request_duration_seconds" in families


# --- Several processes ----------------------------------------------------------------


def test_with_a_multiprocess_folder_a_scrape_adds_up_every_process(tmp_path):
    """gunicorn's workers and the Celery worker (on one machine) write their counters to
    PROMETHEUS_MULTIPROC_DIR; whichever process is scraped serves the sum."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "DJANGO_SETTINGS_MODULE": "portal.settings.test",
        "DEBUG": "true",
        "CELERY_BROKER_URL": "memory://",
        "PORTAL_VAR_DIR": str(tmp_path / "var"),
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
    }
    (tmp_path / "metrics").mkdir()
    count = (
        "import django; django.setup(); "
        "from portal.monitoring import metrics; metrics.AUTO_CLOSED.inc({})"
    )
    for closed in (2, 3):
        subprocess.run(
            [sys.executable, "-c", count.format(closed)], cwd=BASE_DIR, env=env, check=True
        )
    serve = (
        "import django; django.setup(); "
        "from prometheus_client import generate_latest; "
        "from portal.monitoring import metrics; "
        "metrics.StateCollector.collect = lambda self: iter(()); "
        "print(generate_latest(metrics.scrape_registry()).decode())"
    )

    result = subprocess.run(
        [sys.executable, "-c", serve], cwd=BASE_DIR, env=env, capture_output=True, text=True
    )

    assert result.returncode == 0, result.stderr
    assert "portal_cases_auto_closed_total 5.0" in result.stdout
