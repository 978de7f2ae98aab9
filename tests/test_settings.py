"""Production never silently inherits the local defaults, and passes `check --deploy`.

Settings are read once per process, so each case starts `manage.py` in a fresh
process with exactly the environment under test.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parent.parent
SYSTEM_CHECK_OK = "System check identified no issues (0 silenced)."


def manage(*args: str, env: dict[str, str], var_dir: Path) -> subprocess.CompletedProcess:
    clean_env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONDONTWRITEBYTECODE": "1",
        # Nothing from the test run (DEBUG=true, the test database) leaks in.
        "PORTAL_VAR_DIR": str(var_dir),
        **env,
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=clean_env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def production_env() -> dict[str, str]:
    return {
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "ALLOWED_HOSTS": "support.example.com",
        "CSRF_TRUSTED_ORIGINS": "https://support.example.com",
        "SITE_URL": "https://support.example.com",
        "DATABASE_URL": "postgres://portal:secret@db.example.com:5432/portal",
        "CELERY_BROKER_URL": "redis://redis.example.com:6379/0",
        "CACHE_URL": "redis://redis.example.com:6379/1",
        "EMAIL_BACKEND": "anymail.backends.postmark.EmailBackend",
        "POSTMARK_SERVER_TOKEN": "server-token",
        "ANYMAIL_WEBHOOK_SECRET": f"anymail:{secrets.token_urlsafe(24)}",
    }


DEVELOPMENT_EMAIL_BACKENDS = [
    "django.core.mail.backends.console.EmailBackend",
    "django.core.mail.backends.locmem.EmailBackend",
    "django.core.mail.backends.filebased.EmailBackend",
    "django.core.mail.backends.dummy.EmailBackend",
    "anymail.backends.test.EmailBackend",
]


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        pytest.param({"SECRET_KEY": ""}, "set SECRET_KEY", id="no-secret-key"),
        pytest.param(
            {"SECRET_KEY": "django-insecure-development-only-never-use-in-production"},
            "set SECRET_KEY",
            id="development-secret-key",
        ),
        pytest.param({"SECRET_KEY": "too-short"}, "set SECRET_KEY", id="short-secret-key"),
        pytest.param({"ALLOWED_HOSTS": ""}, "set ALLOWED_HOSTS", id="no-allowed-hosts"),
        pytest.param({"ALLOWED_HOSTS": " , "}, "set ALLOWED_HOSTS", id="blank-allowed-hosts"),
        pytest.param(
            {"DEBUG": "", "SECRET_KEY": ""}, "set SECRET_KEY", id="debug-unset-means-off"
        ),
        pytest.param(
            {"ANYMAIL_WEBHOOK_SECRET": ""}, "set ANYMAIL_WEBHOOK_SECRET", id="no-webhook-secret"
        ),
        *(
            pytest.param(
                {"EMAIL_BACKEND": backend, "ALLOW_DEVELOPMENT_EMAIL_BACKEND": "false"},
                "set EMAIL_BACKEND to a backend that sends mail",
                id=f"{backend.split('.')[-2]}-email-backend",
            )
            for backend in DEVELOPMENT_EMAIL_BACKENDS
        ),
        pytest.param(
            {"EMAIL_BACKEND": ""}, "set EMAIL_BACKEND", id="email-backend-unset-means-console"
        ),
    ],
)
def test_with_debug_off_the_process_refuses_to_start_on_local_defaults(
    tmp_path, change, complaint
):
    result = manage("check", env={**production_env(), **change}, var_dir=tmp_path)

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert complaint in result.stderr


def test_check_deploy_reports_nothing_for_a_production_environment(tmp_path):
    result = manage(
        "check", "--deploy", "--fail-level", "WARNING", env=production_env(), var_dir=tmp_path
    )

    assert result.returncode == 0, result.stderr
    assert SYSTEM_CHECK_OK in result.stdout
    assert "WARNINGS" not in result.stderr + result.stdout


def test_check_deploy_fails_without_a_webhook_secret(tmp_path):
    """Without it anyone could post replies to the inbound email webhook. (With DEBUG off
    the settings already refuse to start; the check also speaks on a debug copy.)"""
    env = {**production_env(), "DEBUG": "true", "ANYMAIL_WEBHOOK_SECRET": ""}

    result = manage("check", "--deploy", env=env, var_dir=tmp_path)

    assert result.returncode != 0
    assert "cases.E001" in result.stderr


def test_a_development_email_backend_is_allowed_in_production_only_on_purpose(tmp_path):
    """A staging copy or a benchmark may run DEBUG off and send nothing, if it says so."""
    env = {
        **production_env(),
        "EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend",
        "ALLOW_DEVELOPMENT_EMAIL_BACKEND": "true",
    }
    script = "from django.conf import settings as s; print(s.MAILERS['default']['BACKEND'])"

    result = manage("shell", "--no-imports", "-c", script, env=env, var_dir=tmp_path)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "django.core.mail.backends.console.EmailBackend"


def test_production_environment_selects_postgres_redis_and_anymail(tmp_path):
    script = (
        "from django.conf import settings as s; "
        "print(s.DATABASES['default']['ENGINE']); print(s.CELERY_BROKER_URL); "
        "print(s.MAILERS['default']['BACKEND']); print(s.ANYMAIL['POSTMARK_SERVER_TOKEN']); "
        "print(s.DEBUG, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT); "
        "print(s.CACHES['default']['BACKEND'], s.CACHES['default']['LOCATION'])"
    )
    result = manage("shell", "--no-imports", "-c", script, env=production_env(), var_dir=tmp_path)

    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:6] == [
        "django.db.backends.postgresql",
        "redis://redis.example.com:6379/0",
        "anymail.backends.postmark.EmailBackend",
        "server-token",
        "False True True True",
        "django.core.cache.backends.redis.RedisCache redis://redis.example.com:6379/1",
    ]


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        (None, "{'server_side_binding': True, 'prepare_threshold': 5}"),
        ("false", "{}"),
    ],
)
def test_postgresql_prepares_repeated_queries_unless_turned_off(tmp_path, setting, expected):
    env = production_env()
    if setting is not None:
        env["DB_PREPARED_STATEMENTS"] = setting
    script = "from django.conf import settings as s; print(s.DATABASES['default']['OPTIONS'])"
    result = manage("shell", "--no-imports", "-c", script, env=env, var_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == expected


@pytest.mark.parametrize(
    ("proxies", "expected"),
    [
        ("", "('REMOTE_ADDR',) None True"),
        ("0", "('REMOTE_ADDR',) None True"),
        ("1", "('HTTP_X_FORWARDED_FOR', 'REMOTE_ADDR') 0 False"),
        ("2", "('HTTP_X_FORWARDED_FOR', 'REMOTE_ADDR') 1 False"),
    ],
)
def test_proxy_count_decides_where_the_client_address_is_read(tmp_path, proxies, expected):
    """Behind N proxies django-ipware (which django-axes reads it through) takes the Nth
    X-Forwarded-For entry from the right; with none, only the socket's address."""
    script = (
        "import ipware; from django.conf import settings as s; "
        "print(s.AXES_IPWARE_META_PRECEDENCE_ORDER, s.AXES_IPWARE_PROXY_COUNT, s.IPWARE_STRICT)"
    )
    env = {**production_env(), "AXES_PROXY_COUNT": proxies}

    result = manage("shell", "--no-imports", "-c", script, env=env, var_dir=tmp_path)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == expected


def test_local_defaults_start_with_nothing_configured(tmp_path):
    result = manage("check", env={"DEBUG": "true"}, var_dir=tmp_path)

    assert result.returncode == 0, result.stderr
    assert SYSTEM_CHECK_OK in result.stdout


def test_local_defaults_cache_pages_in_files_every_process_shares(tmp_path):
    """Web, worker and beat are separate processes: a change made by the worker must
    reach the pages the web process cached."""
    script = (
        "from django.conf import settings as s; "
        "print(s.CACHES['default']['BACKEND'], s.CACHES['default']['LOCATION'])"
    )
    result = manage("shell", "--no-imports", "-c", script, env={"DEBUG": "true"}, var_dir=tmp_path)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        f"django.core.cache.backends.filebased.FileBasedCache {tmp_path / 'cache'}"
    )


def test_a_cache_url_that_is_not_redis_is_refused(tmp_path):
    result = manage(
        "check", env={"DEBUG": "true", "CACHE_URL": "memcached://127.0.0.1"}, var_dir=tmp_path
    )

    assert result.returncode != 0
    assert "CACHE_URL must be a redis:// URL" in result.stderr


@pytest.mark.parametrize(
    "env",
    [
        pytest.param({"DEBUG": "true"}, id="local"),
        pytest.param(production_env(), id="production"),
        pytest.param({"DJANGO_SETTINGS_MODULE": "portal.settings.test"}, id="test"),
    ],
)
def test_loading_the_settings_creates_no_folder(tmp_path, env):
    """Folders are made by what uses them (the broker transport, beat, the cache), so a
    web process, a `check` or a read-only deploy leaves the disk as it was."""
    var_dir = tmp_path / "var"
    var_dir.mkdir()
    script = "from django.conf import settings as s; print(s.CELERY_BROKER_URL)"

    result = manage("shell", "--no-imports", "-c", script, env=env, var_dir=var_dir)

    assert result.returncode == 0, result.stderr
    assert list(var_dir.iterdir()) == []


@pytest.mark.parametrize(
    ("env", "debug"),
    [
        pytest.param({"DEBUG": "true"}, "True", id="debug-on-is-local"),
        pytest.param(production_env(), "False", id="debug-off-is-production"),
        pytest.param(
            {**production_env(), "DJANGO_SETTINGS_MODULE": "portal.settings.production"},
            "False",
            id="named-production",
        ),
        pytest.param(
            {"DEBUG": "false", "DJANGO_SETTINGS_MODULE": "portal.settings.local"},
            "True",
            id="named-local",
        ),
    ],
)
def test_portal_settings_picks_the_module_by_debug_unless_one_is_named(tmp_path, env, debug):
    script = (
        "from django.conf import settings as s; "
        "print(s.DEBUG, s.STORAGES['staticfiles']['BACKEND'].rsplit('.', 1)[-1])"
    )

    result = manage("shell", "--no-imports", "-c", script, env=env, var_dir=tmp_path)

    assert result.returncode == 0, result.stderr
    storage = "StaticFilesStorage" if debug == "True" else "CompressedManifestStaticFilesStorage"
    assert result.stdout.split() == [debug, storage]


# --- Where attachments are kept ---------------------------------------------------------

STORAGE_SCRIPT = (
    "from django.core.files.storage import default_storage as d; "
    "d._setup(); s = d._wrapped; print(type(s).__name__); "
    "print(getattr(s, 'location', None)); "
    "print(*[getattr(s, o, '-') for o in ('bucket_name', 'endpoint_url', 'region_name', "
    "'default_acl', 'querystring_auth', 'querystring_expire', 'custom_domain', "
    "'file_overwrite')]); "
    "print(s.client_config.s3 if hasattr(s, 'client_config') else '-')"
)
S3_ENV = {
    "AWS_STORAGE_BUCKET_NAME": "portal-attachments",
    "AWS_S3_ENDPOINT_URL": "https://minio.example.com:9000",
    "AWS_S3_REGION_NAME": "eu-west-1",
    "AWS_S3_ADDRESSING_STYLE": "path",
    "AWS_ACCESS_KEY_ID": "portal",
    "AWS_SECRET_ACCESS_KEY": "secret",
}


@pytest.mark.parametrize("debug", ["true", "false"])
def test_attachments_are_kept_on_the_local_disk_by_default(tmp_path, debug):
    env = {"DEBUG": "true"} if debug == "true" else production_env()

    result = manage("shell", "--no-imports", "-c", STORAGE_SCRIPT, env=env, var_dir=tmp_path)

    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:2] == ["FileSystemStorage", str(tmp_path / "media")]


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({}, id="bucket-name-implies-s3"),
        pytest.param({"STORAGE_BACKEND": "s3"}, id="named"),
        pytest.param({"STORAGE_BACKEND": "S3 "}, id="named-loosely"),
    ],
)
def test_a_bucket_keeps_attachments_private(tmp_path, change):
    """No public ACL, signed short-lived URLs only, no public domain, nothing replaced."""
    env = {**production_env(), **S3_ENV, **change}

    result = manage("shell", "--no-imports", "-c", STORAGE_SCRIPT, env=env, var_dir=tmp_path)

    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:4] == [
        "S3Storage",
        "",
        "portal-attachments https://minio.example.com:9000 eu-west-1 None True 60 None False",
        "{'addressing_style': 'path'}",
    ]


def test_the_disk_can_be_chosen_while_a_bucket_is_named(tmp_path):
    env = {**production_env(), **S3_ENV, "STORAGE_BACKEND": "filesystem"}

    result = manage("shell", "--no-imports", "-c", STORAGE_SCRIPT, env=env, var_dir=tmp_path)

    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[0] == "FileSystemStorage"


@pytest.mark.parametrize(
    ("env", "complaint"),
    [
        pytest.param(
            {"STORAGE_BACKEND": "s3"}, "set AWS_STORAGE_BUCKET_NAME", id="s3-without-bucket"
        ),
        pytest.param(
            {"STORAGE_BACKEND": "gcs"},
            'STORAGE_BACKEND must be "filesystem" or "s3"',
            id="unknown-backend",
        ),
    ],
)
def test_a_storage_that_cannot_work_is_refused_at_start(tmp_path, env, complaint):
    result = manage("check", env={"DEBUG": "true", **env}, var_dir=tmp_path)

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert complaint in result.stderr


def test_check_deploy_reports_nothing_with_attachments_in_a_bucket(tmp_path):
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        env={**production_env(), **S3_ENV},
        var_dir=tmp_path,
    )

    assert result.returncode == 0, result.stderr
    assert SYSTEM_CHECK_OK in result.stdout
