"""Fault scenarios: real web (the Procfile's gunicorn), worker, beat and Redis processes
on loopback.

Each scenario starts its own processes and stops each one by its own pid (never by
name: other Celery processes may run on the same machine). Redis is a private server on
port 6391 (FAULTS_REDIS_PORT), so stopping it affects nothing else; the database is the
test database, committed to for real (`transactional_db`) so that the processes see the
test's rows. Web processes listen on free loopback ports.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
from django.core.management import call_command
from django.db import connection

from portal.celery import app as celery_app
from tests.faults.recording_backend import read_log

REPO = Path(__file__).resolve().parents[2]
# One private port per xdist worker: pytest 9.2 ignores the suffix xdist 3.8 uses to keep
# an xdist_group on one worker, so scenarios may run on both workers at once.
REDIS_PORT = int(os.environ.get("FAULTS_REDIS_PORT", "6391")) + int(
    os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0
)
BROKER_URL = f"redis://127.0.0.1:{REDIS_PORT}/0"
CELERY_APP = [str(Path(sys.executable).with_name("celery")), "-A", "portal.celery:app"]


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    # The scenarios make many users; password hashing is not what they test.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def wait_for(predicate: Callable[[], object], *, timeout: float, what: str, every: float = 0.1):
    """Poll until `predicate()` is truthy; fail the test with `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"Timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)


def _port_open(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.2)
        return probe.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class Process:
    name: str
    popen: subprocess.Popen
    log: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def kill(self) -> None:
        """SIGKILL: no cleanup, no acknowledgement, no goodbye."""
        if self.alive():
            os.kill(self.pid, signal.SIGKILL)
            self.popen.wait(timeout=10)

    def stop(self) -> None:
        """SIGTERM (a warm shutdown), SIGKILL if it does not go within 10 s."""
        if self.alive():
            os.kill(self.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def procfile() -> dict[str, str]:
    """The Procfile's commands by process type (`release`, `web`, `worker`, `beat`)."""
    lines = (REPO / "Procfile").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if line.strip() and line[0] != "#")


@dataclass
class Web:
    """A web process (gunicorn and its workers) and the address it serves on."""

    process: Process
    url: str

    def answers(self) -> bool:
        try:
            return requests.get(f"{self.url}/accounts/login/", timeout=5).status_code == 200
        except requests.RequestException:
            return False


class PrivateRedis:
    """A redis-server of our own on REDIS_PORT, stopped and started by its pid."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.process: Process | None = None

    def start(self) -> None:
        if _port_open(REDIS_PORT):
            raise RuntimeError(f"Port {REDIS_PORT} is taken: the fault scenarios need it free.")
        log = self.folder / "redis.log"
        popen = subprocess.Popen(  # noqa: S603 - fixed argument list
            [
                shutil.which("redis-server") or "redis-server",
                "--port", str(REDIS_PORT),
                "--bind", "127.0.0.1",
                "--save", "",
                "--appendonly", "no",
                "--daemonize", "no",
                "--dir", str(self.folder),
            ],
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        self.process = Process("redis", popen, log)
        wait_for(lambda: _port_open(REDIS_PORT), timeout=10, what="the private Redis")

    def stop(self) -> None:
        if self.process:
            self.process.kill()
            wait_for(lambda: not _port_open(REDIS_PORT), timeout=10, what="Redis to go away")


@pytest.fixture(scope="session")
def private_redis(tmp_path_factory) -> Iterator[PrivateRedis]:
    redis = PrivateRedis(tmp_path_factory.mktemp("redis"))
    redis.start()
    yield redis
    redis.stop()


@dataclass
class Cluster:
    """Workers and beats of one scenario, all sharing its environment and mail log."""

    folder: Path
    env: dict[str, str]
    processes: list[Process] = field(default_factory=list)

    @property
    def mail_log(self) -> Path:
        return Path(self.env["FAULTS_EMAIL_LOG"])

    def mail(self, phase: str = "sent") -> list[dict]:
        return [entry for entry in read_log(self.mail_log) if entry["phase"] == phase]

    def _start(self, name: str, command: list[str], **env: str) -> Process:
        log = self.folder / f"{name}-{len(self.processes)}.log"
        popen = subprocess.Popen(  # noqa: S603 - fixed argument list
            command,
            cwd=REPO,
            env={**self.env, **env},
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        process = Process(name, popen, log)
        self.processes.append(process)
        return process

    @property
    def queues(self) -> str:
        """Both queues of settings, as the Procfile's worker consumes them (beat and the
        processes publish there; so does this test process, see `publishing_to`)."""
        return ",".join(sorted(queue.name for queue in celery_app.amqp.queues.values()))

    def worker(self, name: str = "worker", **env: str) -> Process:
        # One process (solo pool): SIGKILL stops the very process that is sending.
        process = self._start(
            name,
            [
                *CELERY_APP, "worker", "--pool=solo", "--loglevel=INFO", "--without-gossip",
                "--without-mingle", "--without-heartbeat", f"--hostname={name}-%i@faults",
                f"--queues={self.queues}",
            ],
            **env,
        )  # fmt: skip
        wait_for(
            lambda: "ready." in process.output() or not process.alive(),
            timeout=90,
            what=f"{name} to be ready",
        )
        assert process.alive(), process.output()
        return process

    def beat(self, name: str = "beat", **env: str) -> Process:
        schedule = self.folder / f"{name}-schedule"
        return self._start(
            name,
            [*CELERY_APP, "beat", "--loglevel=INFO", f"--schedule={schedule}"],
            **env,
        )

    def web(self, name: str = "web", **env: str) -> Web:
        """The Procfile's `web` (gunicorn) on a free loopback port, answering pages."""
        port = free_port()
        # Loopback only, unlike a deploy's 0.0.0.0; `gunicorn` is this run's.
        command = procfile()["web"].replace("0.0.0.0:", "127.0.0.1:")
        process = self._start(
            name,
            ["/bin/sh", "-c", f"exec {command}"],
            PORT=str(port),
            PATH=f"{Path(sys.executable).parent}{os.pathsep}{self.env.get('PATH', '')}",
            **env,
        )
        web = Web(process, f"http://127.0.0.1:{port}")
        wait_for(
            lambda: web.answers() or not process.alive(), timeout=60, what=f"{name} to answer"
        )
        assert process.alive(), process.output()
        return web

    def stop_all(self) -> None:
        for process in self.processes:
            process.stop()


def _database_url() -> str:
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return (
        f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
        f"/{db['NAME']}"
    )


@pytest.fixture
def cluster(transactional_db, private_redis, tmp_path, settings) -> Iterator[Cluster]:
    if connection.vendor != "postgresql":
        pytest.fail("The fault scenarios need PostgreSQL (DATABASE_URL=postgres://...).")
    # The scenario's own queue starts empty.
    subprocess.run(  # noqa: S603
        [shutil.which("redis-cli") or "redis-cli", "-p", str(REDIS_PORT), "flushall"],
        check=True,
        capture_output=True,
    )
    env = {
        **os.environ,
        "DEBUG": "true",
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "DATABASE_URL": _database_url(),
        "DB_CONN_MAX_AGE": "0",
        "CELERY_BROKER_URL": BROKER_URL,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "EMAIL_BACKEND": "tests.faults.recording_backend.RecordingBackend",
        "FAULTS_EMAIL_LOG": str(tmp_path / "mail.jsonl"),
        "PORTAL_VAR_DIR": str(tmp_path / "var"),
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "PYTHONPATH": str(REPO),
        # Nothing scheduled unless a scenario asks for it.
        "CASE_SWEEP_INTERVAL_SECONDS": "3600",
        "NOTIFICATION_RELAY_INTERVAL_SECONDS": "3600",
        "REMINDER_MINUTE": "59",
        "SERVICE_LEVEL_CHECK_INTERVAL_SECONDS": "3600",
    }
    group = Cluster(folder=tmp_path, env=env)
    with publishing_to(BROKER_URL):
        yield group
    group.stop_all()


class publishing_to:
    """Make this test process publish tasks to `url` for real (not eagerly)."""

    def __init__(self, url: str):
        self.url = url

    def _reset_pools(self) -> None:
        celery_app._pool = None
        celery_app.amqp._producer_pool = None

    def __enter__(self):
        # The write URL, because CELERY_BROKER_URL in the environment wins over broker_url.
        self.saved = (celery_app.conf.get("broker_write_url"), celery_app.conf.task_always_eager)
        celery_app.conf.broker_write_url = self.url
        celery_app.conf.task_always_eager = False
        self._reset_pools()
        return self

    def __exit__(self, *exc) -> None:
        celery_app.conf.broker_write_url, celery_app.conf.task_always_eager = self.saved
        self._reset_pools()


@pytest.fixture
def invariants_hold():
    """Call after a scenario: the support history must be whole."""

    def check() -> None:
        call_command("check_invariants")

    return check
