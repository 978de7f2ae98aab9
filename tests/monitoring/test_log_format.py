"""Production logs one JSON object per line; local runs keep readable lines. Worker and
beat log through the same configuration (Celery does not replace it)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time

import pytest

from tests.test_settings import BASE_DIR, manage, production_env

LOG_A_LINE = "import logging; logging.getLogger('portal.example').warning('Disk %s full', 'var')"


def log_a_line(tmp_path, env: dict) -> str:
    result = manage("shell", "--no-imports", "-c", LOG_A_LINE, env=env, var_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    return result.stderr.strip().splitlines()[-1]


def test_production_logs_json_lines(tmp_path):
    record = json.loads(log_a_line(tmp_path, production_env()))
    assert record.pop("time")
    assert record == {
        "level": "WARNING",
        "logger": "portal.example",
        "request_id": "-",
        "message": "Disk var full",
    }


def test_local_runs_log_readable_lines(tmp_path):
    line = log_a_line(tmp_path, {"DEBUG": "true"})

    assert re.fullmatch(r"\S+ \S+ WARNING portal\.example \[-\] Disk var full", line), line


def test_production_may_log_readable_lines_on_purpose(tmp_path):
    line = log_a_line(tmp_path, {**production_env(), "LOG_FORMAT": "plain"})

    assert line.endswith("WARNING portal.example [-] Disk var full")


@pytest.mark.parametrize("env", [{"DEBUG": "true"}, production_env()], ids=["local", "prod"])
def test_an_unknown_log_format_is_refused(tmp_path, env):
    result = manage("check", env={**env, "LOG_FORMAT": "xml"}, var_dir=tmp_path)

    assert result.returncode != 0
    assert 'LOG_FORMAT must be "plain" or "json"' in result.stderr


def test_beat_logs_json_lines_in_production(tmp_path):
    """Celery keeps the portal's logging instead of its own (portal/celery.py)."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        **production_env(),
        "CELERY_BROKER_URL": "",  # the filesystem broker, under tmp_path
        "PORTAL_VAR_DIR": str(tmp_path),
        "LOG_LEVEL": "INFO",
    }
    beat = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "celery", "-A", "portal.celery:app", "beat", "--loglevel", "ERROR"],
        cwd=BASE_DIR,
        env=env,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = beat.stderr.readline()
            if line.startswith("{"):
                break
    finally:
        beat.kill()
        beat.wait(timeout=10)

    record = json.loads(line)
    # At LOG_LEVEL, whatever Celery's own --loglevel says.
    assert (record["level"], record["logger"]) == ("INFO", "celery.beat")
    assert record["request_id"] == "-"
