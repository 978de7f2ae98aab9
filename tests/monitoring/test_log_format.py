"""Production logs one JSON object per line; local runs keep readable lines. Worker and
beat log through the same configuration (Celery does not replace it)."""

from __future__ import annotations

import json
import re

import pytest

from tests.test_settings import manage, production_env

LOG_A_LINE = (
    "import logging; from django.conf import settings; "
    "print(settings.CELERY_WORKER_HIJACK_ROOT_LOGGER); "
    "logging.getLogger('portal.example').warning('Disk %s full', 'var')"
)


def log_a_line(tmp_path, env: dict) -> tuple[str, str]:
    result = manage("shell", "--no-imports", "-c", LOG_A_LINE, env=env, var_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip(), result.stderr.strip().splitlines()[-1]


def test_production_logs_json_lines(tmp_path):
    hijack, line = log_a_line(tmp_path, production_env())

    assert hijack == "False"
    record = json.loads(line)
    assert record.pop("time")
    assert record == {
        "level": "WARNING",
        "logger": "portal.example",
        "request_id": "-",
        "message": "Disk var full",
    }


def test_local_runs_log_readable_lines(tmp_path):
    hijack, line = log_a_line(tmp_path, {"DEBUG": "true"})

    assert hijack == "False"
    assert re.fullmatch(r"\S+ \S+ WARNING portal\.example \[-\] Disk var full", line), line


def test_production_may_log_readable_lines_on_purpose(tmp_path):
    _, line = log_a_line(tmp_path, {**production_env(), "LOG_FORMAT": "plain"})

    assert line.endswith("WARNING portal.example [-] Disk var full")


@pytest.mark.parametrize("env", [{"DEBUG": "true"}, production_env()], ids=["local", "prod"])
def test_an_unknown_log_format_is_refused(tmp_path, env):
    result = manage("check", env={**env, "LOG_FORMAT": "xml"}, var_dir=tmp_path)

    assert result.returncode != 0
    assert 'LOG_FORMAT must be "plain" or "json"' in result.stderr
