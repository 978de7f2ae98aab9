"""Under production settings: `check --deploy` is clean and every page carries the
security headers. Both run in a separate process with DEBUG off, as production does."""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from tests.faults.conftest import _database_url

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
        for header, expected in HEADERS.items():
            assert expected in response["headers"].get(header, ""), f"{header} missing on {where}"
