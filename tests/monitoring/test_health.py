"""/health/: 200 when every dependency is up, 503 naming the failing check.

A public contract for load balancers (DESIGN.md): JSON for machines, no secret in what
it says, no sign-in, served to the server's address as a Host and over plain HTTP.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from health_check import checks as library
from health_check.exceptions import ServiceUnavailable

from cases.models import Notification, NotificationKind, NotificationState
from cases.tasks import close_stale_cases_task
from portal.celery import app as celery_app

pytestmark = pytest.mark.django_db

CHECKS = ["database", "cache", "broker", "storage", "beat", "outbox"]
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
# Nothing listens on port 1: a dependency that is down.
DOWN = "redis://:s3cret-password@127.0.0.1:1/0"


def health(client, **extra):
    return client.get("/health/", HTTP_ACCEPT="application/json", **extra)


def assert_failing(response, *names: str) -> dict:
    assert response.status_code == 503, response.content
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["failing"] == list(names)
    for name in CHECKS:
        assert (body["checks"][name] == "OK") is (name not in names), body
    return body


def assert_no_secrets(response) -> None:
    text = response.content.decode()
    for secret in ("s3cret-password", "127.0.0.1", ":1/", "redis://", "Traceback"):
        assert secret not in text


def queued_notification(next_attempt_at: datetime, **fields) -> Notification:
    return Notification.objects.create(
        kind=NotificationKind.RESOLVED,
        to_email="customer@example.com",
        subject="Resolved",
        dedupe_key=f"health-{Notification.objects.count()}",
        next_attempt_at=next_attempt_at,
        **fields,
    )


# --- All up ---------------------------------------------------------------------------


def test_every_check_passes_on_a_working_system(client):
    response = health(client)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "status": "ok",
        "failing": [],
        "checks": dict.fromkeys(CHECKS, "OK"),
    }
    assert "no-store" in response["Cache-Control"]


@pytest.mark.parametrize(
    ("query", "accept"),
    [("?format=json", "*/*"), ("", "application/json"), ("", "application/*")],
)
def test_json_is_chosen_by_query_or_accept_header(client, query, accept):
    response = client.get(f"/health/{query}", HTTP_ACCEPT=accept)

    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_plain_text_and_html_answer_too(client):
    text = client.get("/health/?format=text")
    page = client.get("/health/")

    assert text.status_code == page.status_code == 200
    assert text.content.decode() == "".join(f"{name}: OK\n" for name in CHECKS)
    assert page["Content-Type"].startswith("text/html")
    assert b"System status" in page.content


def test_head_answers_the_status_alone(client):
    assert client.head("/health/").status_code == 200


def test_needs_no_sign_in_and_sets_no_cookie(client):
    response = health(client)

    assert response.status_code == 200
    assert not response.cookies


def test_a_probe_reuses_the_request_connection_for_two_queries(client, django_assert_num_queries):
    """Cheap to poll every few seconds: `SELECT 1` and the outbox's indexed look-up, on
    the request's own database connection (no session, no user)."""
    health(client)  # the sweep's grace period starts

    with django_assert_num_queries(2):
        assert health(client).status_code == 200


# --- Load balancer probes -------------------------------------------------------------


@pytest.fixture
def production_like(settings):
    settings.ALLOWED_HOSTS = ["support.example.com"]
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_REDIRECT_EXEMPT = [r"^health/$"]


@pytest.mark.usefixtures("production_like")
def test_a_probe_by_server_address_over_plain_http_is_answered(client):
    """A load balancer probes each server over HTTP with its address as the Host."""
    response = health(client, HTTP_HOST="10.0.3.17:8000")

    assert response.status_code == 200
    assert response.json()["status"] == "ok"


@pytest.mark.usefixtures("production_like")
def test_other_pages_keep_the_host_check_and_the_https_redirect(client):
    assert client.get("/help/case-statuses/", HTTP_HOST="10.0.3.17").status_code == 400
    assert client.get("/health/x", HTTP_HOST="10.0.3.17").status_code == 400
    redirect = client.get("/help/case-statuses/", HTTP_HOST="support.example.com")
    assert redirect.status_code == 301
    assert redirect["Location"] == "https://support.example.com/help/case-statuses/"


@pytest.mark.usefixtures("production_like")
def test_a_post_to_health_goes_through_the_whole_stack(client):
    assert client.post("/health/", HTTP_HOST="10.0.3.17").status_code == 400


# --- Beat -----------------------------------------------------------------------------


def test_beat_has_a_grace_period_of_two_intervals_on_a_fresh_system(
    client, settings, time_machine
):
    settings.CASE_SWEEP_INTERVAL_SECONDS = 15 * 60
    time_machine.move_to(START, tick=False)
    assert health(client).status_code == 200  # no sweep yet: the grace period starts

    time_machine.move_to(START + timedelta(minutes=30), tick=False)
    assert health(client).status_code == 200

    time_machine.move_to(START + timedelta(minutes=30, seconds=1), tick=False)
    body = assert_failing(health(client), "beat")
    assert body["checks"]["beat"] == (
        "Unavailable: No auto-close sweep has finished in the 30 minutes since the first "
        "check; beat queues one every 15 minutes"
    )


def test_beat_is_healthy_until_twice_the_interval_after_the_last_sweep(
    client, settings, time_machine
):
    settings.CASE_SWEEP_INTERVAL_SECONDS = 10 * 60
    time_machine.move_to(START, tick=False)
    close_stale_cases_task()

    time_machine.move_to(START + timedelta(minutes=20), tick=False)
    assert health(client).status_code == 200

    time_machine.move_to(START + timedelta(minutes=20, seconds=1), tick=False)
    body = assert_failing(health(client), "beat")
    assert body["checks"]["beat"] == (
        "Unavailable: The last auto-close sweep finished 20 minutes ago; "
        "beat queues one every 10 minutes"
    )

    close_stale_cases_task()  # beat is back
    assert health(client).status_code == 200


def test_a_failed_sweep_is_not_a_heartbeat(client, time_machine, monkeypatch):
    time_machine.move_to(START, tick=False)
    close_stale_cases_task()
    time_machine.move_to(START + timedelta(minutes=29), tick=False)

    def broken(**kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr("cases.services.close_stale_cases", broken)
    with pytest.raises(RuntimeError):
        close_stale_cases_task()

    time_machine.move_to(START + timedelta(minutes=31), tick=False)
    assert_failing(health(client), "beat")


def test_a_lost_sweep_record_starts_a_new_grace_period(client, time_machine):
    """The cache was flushed or restarted: no alarm before beat had its chance."""
    from django.core.cache import cache

    time_machine.move_to(START, tick=False)
    close_stale_cases_task()
    time_machine.move_to(START + timedelta(hours=1), tick=False)
    assert_failing(health(client), "beat")

    cache.clear()
    assert health(client).status_code == 200
    time_machine.move_to(START + timedelta(hours=1, minutes=31), tick=False)
    assert_failing(health(client), "beat")


# --- Outbox ---------------------------------------------------------------------------


def test_an_email_queued_past_the_maximum_age_fails_the_outbox(client, settings, time_machine):
    settings.HEALTH_OUTBOX_MAX_AGE_SECONDS = 15 * 60
    time_machine.move_to(START, tick=False)
    queued_notification(START - timedelta(minutes=15))
    assert health(client).status_code == 200

    time_machine.move_to(START + timedelta(seconds=1), tick=False)
    body = assert_failing(health(client), "outbox")
    assert body["checks"]["outbox"] == (
        "Unavailable: Emails are queued more than 15 minutes past their send time"
    )


def test_the_maximum_age_is_a_setting(client, settings, time_machine):
    time_machine.move_to(START, tick=False)
    queued_notification(START - timedelta(minutes=5))
    assert health(client).status_code == 200

    settings.HEALTH_OUTBOX_MAX_AGE_SECONDS = 60
    assert_failing(health(client), "outbox")


@pytest.mark.parametrize(
    "state", [NotificationState.SENT, NotificationState.FAILED, NotificationState.CANCELLED]
)
def test_old_emails_no_longer_queued_do_not_fail_the_outbox(client, time_machine, state):
    time_machine.move_to(START, tick=False)
    queued_notification(START - timedelta(days=3), state=state)

    assert health(client).status_code == 200


def test_a_retry_scheduled_later_is_not_late(client, time_machine):
    time_machine.move_to(START, tick=False)
    queued_notification(START + timedelta(minutes=10), attempts=3)

    assert health(client).status_code == 200


# --- Dependencies down ----------------------------------------------------------------


def test_a_cache_that_is_down_fails_the_cache_and_beat_checks(client, settings):
    """Beat's heartbeat lives in the cache: without it, the sweep cannot be vouched for."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": DOWN,
            "OPTIONS": {"socket_connect_timeout": 0.25, "socket_timeout": 0.25},
        }
    }

    response = health(client)

    body = assert_failing(response, "cache", "beat")
    assert body["checks"]["beat"] == "Unavailable: Cannot read the last sweep's record"
    assert_no_secrets(response)


@pytest.fixture
def broker_url(monkeypatch):
    """Point the Celery app's publishing at another broker for one test."""

    def use(url: str, transport: str | None = None, options: dict | None = None) -> None:
        monkeypatch.setitem(celery_app.conf, "broker_write_url", url)
        monkeypatch.setitem(celery_app.conf, "broker_transport", transport)
        monkeypatch.setitem(celery_app.conf, "broker_transport_options", options or {})

    return use


def test_a_redis_broker_that_is_down_fails_the_broker_check(client, broker_url):
    broker_url(DOWN)

    response = health(client)

    body = assert_failing(response, "broker")
    assert body["checks"]["broker"] == "Unavailable: Cannot reach the Celery broker"
    assert_no_secrets(response)


def filesystem_broker(folder) -> dict:
    return {
        "data_folder_in": str(folder / "out"),
        "data_folder_out": str(folder / "out"),
        "processed_folder": str(folder / "processed"),
        "control_folder": str(folder / "control"),
    }


def test_the_local_filesystem_broker_passes_when_its_folders_can_be_written(
    client, broker_url, tmp_path
):
    broker_url("filesystem://localhost/", "portal.broker:Transport", filesystem_broker(tmp_path))

    assert health(client).status_code == 200
    assert (tmp_path / "out").is_dir()
    assert list((tmp_path / "out").iterdir()) == []  # the probe left no message behind


def test_a_filesystem_broker_whose_folder_cannot_be_made_fails(client, broker_url, tmp_path):
    (tmp_path / "not-a-folder").write_text("")
    broker_url(
        "filesystem://localhost/",
        "portal.broker:Transport",
        filesystem_broker(tmp_path / "not-a-folder"),
    )

    assert_failing(health(client), "broker")


def test_storage_that_cannot_be_written_fails_the_storage_check(client, settings, tmp_path):
    (tmp_path / "not-a-folder").write_text("")
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "not-a-folder" / "media")},
        },
    }

    response = health(client)

    assert_failing(response, "storage")
    assert_no_secrets(response)
    assert str(tmp_path) not in response.content.decode()


def test_a_database_error_names_no_server(client, monkeypatch):
    def unreachable(self):
        raise ServiceUnavailable('could not translate host name "db.internal.example"')

    monkeypatch.setattr(library.Database, "run", unreachable)

    response = health(client)

    body = assert_failing(response, "database")
    assert body["checks"]["database"] == "Unavailable: Cannot query the database"
    assert "db.internal.example" not in response.content.decode()


def test_an_unexpected_error_in_a_check_says_nothing_of_it(client, monkeypatch):
    def crash(self):
        raise RuntimeError("password=hunter2")

    monkeypatch.setattr("portal.monitoring.health.Outbox.run", crash)

    response = health(client)

    body = assert_failing(response, "outbox")
    assert body["checks"]["outbox"] == "Unknown Error: unknown error"
    assert "hunter2" not in response.content.decode()
