"""Under production settings: `check --deploy` is clean, every page carries the security
headers, and the Procfile's release and web steps serve a working site. Each runs in a
separate process with DEBUG off, as production does."""

import http.client
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from tests.faults.conftest import _database_url, free_port, procfile

pytestmark = pytest.mark.django_db(transaction=True)

REPO = Path(__file__).resolve().parents[2]
HEADERS = {
    "Content-Security-Policy": "default-src 'self'",
    "Strict-Transport-Security": "max-age=",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "Cross-Origin-Opener-Policy": "same-origin",
}


@pytest.fixture
def production_env(tmp_path, settings):
    # Set for the browser tests only; the deploy check rightly refuses it.
    inherited = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    return {
        **inherited,
        # Not the test suite's settings module, which this process passes on.
        "DJANGO_SETTINGS_MODULE": "portal.settings.production",
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(60),
        "ALLOWED_HOSTS": "support.example.com",
        "DATABASE_URL": _database_url() if connection.vendor == "postgresql" else "",
        "PORTAL_VAR_DIR": str(tmp_path / "var"),
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "EMAIL_BACKEND": "anymail.backends.postmark.EmailBackend",
        "POSTMARK_SERVER_TOKEN": "production-token",
        "ANYMAIL_WEBHOOK_SECRET": f"portal:{secrets.token_urlsafe(32)}",
        "PYTHONPATH": str(REPO),
    }


def manage(env, *args) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", *args], cwd=REPO, env=env, capture_output=True, text=True
    )


def test_check_deploy_is_clean(production_env):
    result = manage(production_env, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.postgres
def test_every_page_carries_the_security_headers(production_env, customer, engineer, victim_case):
    assert manage(production_env, "collectstatic", "--noinput").returncode == 0
    public = [
        "/accounts/login/",
        "/accounts/password_reset/",
        "/help/case-statuses/",
        "/cases/",
        "/no-such-page/",
    ]
    pages = {
        "anonymous": public,
        "customer": [
            "/cases/",
            "/cases/new/",
            victim_case.get_absolute_url(),
            "/cases/CS-999999/",
        ],
        "engineer": [
            "/admin/",
            "/admin/cases/case/",
            f"/admin/cases/case/{victim_case.pk}/change/",
            # The QR code is drawn in the page, under the same Content-Security-Policy.
            "/accounts/two-factor/setup/",
        ],
    }
    result = subprocess.run(  # noqa: S603
        [
            sys.executable,
            "-m",
            "tests.security.production_probe",
            customer.email,
            engineer.email,
            json.dumps(pages),
        ],
        cwd=REPO,
        env=production_env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    responses = json.loads(result.stdout.strip().splitlines()[-1])
    assert len(responses) == sum(len(paths) for paths in pages.values())
    for response in responses:
        where = f"{response['who']} GET {response['path']} ({response['status']})"
        assert response["status"] in (200, 302, 404), where
        if response["who"] == "engineer":
            assert response["status"] == 200, where  # the admin itself, not a redirect
        for header, expected in HEADERS.items():
            assert expected in response["headers"].get(header, ""), f"{header} missing on {where}"


def fetch(port: int, path: str, *, wait: float = 0) -> tuple[int, str, bytes]:
    """GET over plain http as the TLS-terminating proxy would pass it on; retried for up
    to `wait` seconds while the server is still starting."""
    deadline = time.monotonic() + wait
    while True:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            connection.request("GET", path, headers={"X-Forwarded-Proto": "https"})
            response = connection.getresponse()
            return response.status, response.getheader("Content-Type", ""), response.read()
        except ConnectionRefusedError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
        finally:
            connection.close()


@pytest.mark.postgres
def test_procfile_release_then_web_serve_the_sign_in_page_and_its_stylesheet(
    production_env, tmp_path
):
    """Static files are collected by the release step: without it every page is a 500
    ("Missing staticfiles manifest entry")."""
    if connection.vendor != "postgresql":
        pytest.skip("The release step migrates the test database: PostgreSQL only.")
    port = free_port()
    env = {
        **production_env,
        # `python` and `gunicorn` are the test run's, as a deploy's are its own.
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "ALLOWED_HOSTS": "127.0.0.1",
        "PORT": str(port),
        "WEB_CONCURRENCY": "1",
    }
    commands = procfile()
    assert "collectstatic" in commands["release"]
    assert "migrate" in commands["release"]

    release = subprocess.run(  # noqa: S603
        ["/bin/sh", "-c", commands["release"]],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert release.returncode == 0, release.stdout + release.stderr
    assert (tmp_path / "var" / "staticfiles" / "staticfiles.json").exists()

    # Served on loopback only, unlike a deploy's 0.0.0.0.
    assert "--bind 0.0.0.0:$PORT" in commands["web"]
    web_command = commands["web"].replace("0.0.0.0:", "127.0.0.1:")
    log_path = tmp_path / "web.log"
    with log_path.open("w") as log:
        web = subprocess.Popen(  # noqa: S603
            ["/bin/sh", "-c", f"exec {web_command}"],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        status, _, body = fetch(port, "/accounts/login/", wait=15)
        page = body.decode()
        assert status == 200, f"{status}\n{page[:500]}\n{log_path.read_text()[-3000:]}"
        stylesheet = re.search(r'<link rel="stylesheet" href="([^"]+)"', page)
        assert stylesheet, page
        # The manifest's name for it, with its content hash.
        assert re.fullmatch(r"/static/css/portal\.[0-9a-f]{12}\.css", stylesheet[1])

        status, content_type, css = fetch(port, stylesheet[1])
        assert (status, content_type.split(";")[0]) == (200, "text/css")
        assert css.strip()
    finally:
        os.killpg(web.pid, signal.SIGTERM)
        web.wait(timeout=10)


@pytest.mark.postgres
def test_a_load_balancer_probe_of_health_is_answered_under_production_settings(
    production_env, tmp_path
):
    """Over plain HTTP, with the server's address as Host (not in ALLOWED_HOSTS): 200 and
    JSON, not the HTTPS redirect or a 400. Its log lines are JSON with the request id."""
    if connection.vendor != "postgresql":
        pytest.skip("Serves the test database from another process: PostgreSQL only.")
    assert manage(production_env, "collectstatic", "--noinput").returncode == 0  # error pages
    port = free_port()
    env = {**production_env, "PORT": str(port), "WEB_CONCURRENCY": "1", "LOG_LEVEL": "INFO"}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    web_command = procfile()["web"].replace("0.0.0.0:", "127.0.0.1:")
    log_path = tmp_path / "web.log"
    with log_path.open("w") as log:
        web = subprocess.Popen(  # noqa: S603
            ["/bin/sh", "-c", f"exec {web_command}"],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 15
        while True:
            probe = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            try:
                probe.request(
                    "GET",
                    "/health/",
                    headers={"Accept": "application/json", "X-Request-ID": "lb-probe-00000001"},
                )
                response = probe.getresponse()
                body = response.read()
                break
            except ConnectionRefusedError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
            finally:
                probe.close()
        assert response.status == 200, f"{body[:500]}\n{log_path.read_text()[-3000:]}"
        assert json.loads(body)["status"] == "ok"
        assert response.getheader("X-Request-ID") == "lb-probe-00000001"
        assert response.getheader("X-Content-Type-Options") == "nosniff"

        status, _, _ = fetch(port, "/accounts/login/")  # another page, same Host: refused
        assert status == 400
    finally:
        os.killpg(web.pid, signal.SIGTERM)
        web.wait(timeout=10)
    lines = [json.loads(line) for line in log_path.read_text().splitlines() if line[:1] == "{"]
    refused = [line for line in lines if line["logger"] == "django.security.DisallowedHost"]
    assert refused and refused[0]["request_id"] != "-"
