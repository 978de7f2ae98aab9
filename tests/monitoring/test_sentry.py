"""Errors go to Sentry only when SENTRY_DSN is set, without personal data.

Sentry starts with the settings, once per process: each case runs in a fresh process
(as tests/test_settings.py does). No network: the DSN's host does not exist and the
events are kept by a stub transport.
"""

from __future__ import annotations

import json
import textwrap

from tests.test_settings import manage, production_env

FAKE_DSN = "https://0123456789abcdef@o0.ingest.sentry.invalid/42"

STATE = """
import json, sentry_sdk
client = sentry_sdk.get_client()
print(json.dumps({
    "active": client.is_active(),
    "pii": client.options.get("send_default_pii"),
    "locals": client.options.get("include_local_variables"),
    "integrations": sorted(getattr(client, "integrations", {}) or {}),
}))
"""


def sentry_state(tmp_path, env: dict) -> dict:
    result = manage("shell", "--no-imports", "-c", STATE, env=env, var_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_without_a_dsn_sentry_is_off(tmp_path):
    assert sentry_state(tmp_path, production_env())["active"] is False
    assert sentry_state(tmp_path, {"DEBUG": "true"})["active"] is False


def test_with_a_dsn_sentry_reports_requests_and_tasks_without_personal_data(tmp_path):
    state = sentry_state(tmp_path, {**production_env(), "SENTRY_DSN": FAKE_DSN})

    assert state["active"] is True
    assert state["pii"] is False
    assert state["locals"] is False
    assert {"django", "celery"} <= set(state["integrations"])


CAPTURE = """
import json, sentry_sdk
from django.test import Client, override_settings
from sentry_sdk.transport import Transport

class Kept(Transport):
    envelopes = []
    def capture_envelope(self, envelope):
        self.envelopes.append(envelope)

client = sentry_sdk.get_client()
client.transport = Kept(client.options)
with override_settings(ROOT_URLCONF="failing_urls", ALLOWED_HOSTS=["testserver"]):
    response = Client(raise_request_exception=False).get(
        "/fail/?email=customer@example.com",
        # Spelled in two parts: the event quotes this script (the process's arguments).
        # Not the session cookie: reading the person's time zone would load the session
        # from the database, which this process has none of, before the view fails.
        HTTP_COOKIE="csrftoken=secret" + "-session",
        HTTP_X_REQUEST_ID="request-00000001",
    )
client.flush()
events = [item.payload.json for e in Kept.envelopes for item in e.items if item.type == "event"]
print(json.dumps({"status": response.status_code, "events": events}))
"""

FAILING_URLS = """
from django.urls import path

def fail(request):
    raise RuntimeError("Something broke")

urlpatterns = [path("fail/", fail)]
"""


def test_an_unhandled_error_is_reported_without_cookies_or_user(tmp_path):
    (tmp_path / "failing_urls.py").write_text(textwrap.dedent(FAILING_URLS))
    env = {
        **production_env(),
        "SENTRY_DSN": FAKE_DSN,
        "PYTHONPATH": str(tmp_path),
        # The request reaches the view over HTTPS, as behind the proxy.
        "SECURE_SSL_REDIRECT": "false",
    }

    result = manage("shell", "--no-imports", "-c", CAPTURE, env=env, var_dir=tmp_path)

    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome["status"] == 500
    # (The error page then finds no database at db.example.com: reported too.)
    [event] = [
        event
        for event in outcome["events"]
        if event["exception"]["values"][-1]["value"] == "Something broke"
    ]
    assert event["tags"]["request_id"] == "request-00000001"
    request = event["request"]
    assert "Cookie" not in request.get("headers", {})
    assert "secret-session" not in json.dumps(outcome["events"])
    assert "user" not in event or not event["user"].get("email")
