"""`make bench`: the portal's speed at realistic volume, on PostgreSQL, in one table.

1. Recreates a dedicated database, migrates it and builds the standard data set
   (bench/data.py).
2. Counts SQL queries per page in-process (Django's test client).
3. Serves the portal with gunicorn (2 sync workers, production settings) on loopback
   and drives each page with wrk at 8 connections for a fixed time; the floor is
   /accounts/ping/, the cheapest page through the same middleware, session and user
   lookup, and every page is also given as a share of the floor's requests/s.
4. Reads the web workers' memory (RSS) after the load.
5. Times the auto-close sweep over the 10,000 due cases, the relay handing their
   10,000 emails to Anymail's test backend, then tops the table up to 1,000,000 cases
   and times the sweep again over a fresh 10,000 due cases.

Only loopback is used. Every phase is bounded in time. Figures on a shared machine are
noisy; the ratios to the floor, measured in the same run, are the stable part.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/portal_bench"

# The targets the portal is held to (see README.md, Performance).
LIST_MIN_SHARE, LIST_MAX_QUERIES = 0.40, 6
THREAD_MIN_SHARE, THREAD_MAX_QUERIES = 0.30, 10
ADMIN_MAX_QUERIES, ADMIN_MAX_P99_MS = 10, 300
SWEEP_MAX_SECONDS, SWEEP_MAX_GROWTH = 30.0, 1.5
RELAY_MIN_PER_SECOND = 200.0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)
    )
    parser.add_argument("--broker-url", default=os.environ.get("BENCH_BROKER_URL", "memory://"))
    parser.add_argument(
        "--cache-url",
        default=os.environ.get("BENCH_CACHE_URL", "redis://127.0.0.1:6379/13"),
        help="the portal's cache, emptied at the start (production runs on Redis)",
    )
    parser.add_argument("--port", type=int, default=int(os.environ.get("BENCH_PORT", "8160")))
    parser.add_argument(
        "--duration",
        type=int,
        default=int(os.environ.get("BENCH_DURATION", "10")),
        help="seconds of load per page",
    )
    parser.add_argument(
        "--warmup", type=int, default=2, help="seconds of load before each measured run"
    )
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument(
        "--big-table", type=int, default=1_000_000, help="cases for the second sweep"
    )
    parser.add_argument(
        "--small", action="store_true", help="a 20,000-case data set, for a quick look"
    )
    parser.add_argument(
        "--skip", action="append", default=[], choices=["http", "sweep", "relay", "big-sweep"]
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    return parser.parse_args(argv)


# --- Environment ----------------------------------------------------------------------


def production_env(args: argparse.Namespace, var_dir: Path) -> dict[str, str]:
    """Production settings on plain http over loopback."""
    return {
        "DATABASE_URL": args.database_url,
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        "PORTAL_VAR_DIR": str(var_dir),
        "CELERY_BROKER_URL": args.broker_url,
        "CACHE_URL": args.cache_url,
        # Production settings that send no email, on purpose.
        "EMAIL_BACKEND": "anymail.backends.test.EmailBackend",
        "ALLOW_DEVELOPMENT_EMAIL_BACKEND": "true",
        "ANYMAIL_WEBHOOK_SECRET": f"bench:{secrets.token_urlsafe(24)}",
        "SITE_URL": f"http://127.0.0.1:{args.port}",
        "LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "PYTHONDONTWRITEBYTECODE": "1",
    }


def recreate_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if not name.replace("_", "").isalnum():
        raise SystemExit(f"Refusing an unusual database name: {name!r}")
    server = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def ensure_wrk() -> str:
    path = shutil.which("wrk")
    if path is None:
        print("Installing wrk (Debian package)...", flush=True)
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True)
        path = shutil.which("wrk")
    if path is None:
        raise SystemExit("wrk is needed: apt-get install wrk")
    return path


def step(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)


# --- Results --------------------------------------------------------------------------


@dataclass
class PageResult:
    name: str
    path: str
    # Queries and in-process time for a page rendered afresh, and served from the cache.
    queries: int
    cached_queries: int
    render_ms: float
    cached_ms: float
    requests_per_second: float = 0.0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    requests: int = 0
    errors: int = 0
    share_of_floor: float | None = None
    target: str = ""
    met: bool | None = None


@dataclass
class BatchResult:
    name: str
    items: int
    seconds: float
    target: str = ""
    met: bool | None = None

    @property
    def per_second(self) -> float:
        return self.items / self.seconds if self.seconds else 0.0


@dataclass
class Report:
    cases: int = 0
    messages: int = 0
    pages: list[PageResult] = field(default_factory=list)
    batches: list[BatchResult] = field(default_factory=list)
    query_growth: dict[str, tuple[int, int]] = field(default_factory=dict)
    worker_rss_mb: list[float] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


# --- In-process: query counts ---------------------------------------------------------


@dataclass
class InProcess:
    queries: int
    cached_queries: int
    render_ms: float
    cached_ms: float


def measure_in_process(user, path: str, repeat: int = 25) -> InProcess:
    """Queries and median time of one request in a warmed-up process (Django's test
    client), with the page rendered afresh (the cache emptied first) and from cache."""
    from django.core.cache import cache
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    client.force_login(user)
    first = client.get(path)  # warms per-process caches (templates, content types)
    if first.status_code != 200:
        raise SystemExit(f"{path} answered {first.status_code} for {user}")

    def timed(*, afresh: bool) -> tuple[int, float]:
        times, queries = [], 0
        for _ in range(repeat):
            # From cache, each request finds what the one before it stored.
            if afresh:
                cache.clear()
            with CaptureQueriesContext(connection) as captured:
                started = time.perf_counter()
                response = client.get(path)
                times.append(time.perf_counter() - started)
            assert response.status_code == 200
            queries = len(captured.captured_queries)
        return queries, statistics.median(times) * 1000

    queries, render_ms = timed(afresh=True)
    cached_queries, cached_ms = timed(afresh=False)
    return InProcess(queries, cached_queries, render_ms, cached_ms)


def session_cookie(user) -> str:
    """A signed-in browser's cookies for `user`: its session, and the CSRF cookie a
    browser keeps and sends back (without it every page would mint a new secret)."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    session = SessionStore()
    session[SESSION_KEY] = user._meta.pk.value_to_string(user)
    session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[-1]
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    from django.middleware.csrf import CSRF_ALLOWED_CHARS, CSRF_SECRET_LENGTH
    from django.utils.crypto import get_random_string

    csrf_secret = get_random_string(CSRF_SECRET_LENGTH, allowed_chars=CSRF_ALLOWED_CHARS)
    return (
        f"{settings.SESSION_COOKIE_NAME}={session.session_key}; "
        f"{settings.CSRF_COOKIE_NAME}={csrf_secret}"
    )


# --- Over HTTP: gunicorn and wrk ------------------------------------------------------


class Server:
    def __init__(self, env: dict[str, str], port: int, log: Path):
        self.port = port
        self.log = log
        gunicorn = Path(sys.executable).with_name("gunicorn")
        self.process = subprocess.Popen(
            [
                str(gunicorn),
                "portal.wsgi:application",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "2",
                "--worker-class",
                "sync",
                "--timeout",
                "60",
            ],
            cwd=ROOT,
            env=env,
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"gunicorn exited:\n{self.log.read_text()[-3000:]}")
            try:
                status, _ = get(self.port, "/help/case-statuses/", "")
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.3)
        raise SystemExit(
            f"gunicorn did not answer in {timeout:.0f} s:\n{self.log.read_text()[-3000:]}"
        )

    def worker_rss_mb(self) -> list[float]:
        sizes = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                status = (entry / "status").read_text()
            except OSError:
                continue
            fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
            if fields.get("PPid", "").strip() == str(self.process.pid) and "VmRSS" in fields:
                sizes.append(int(fields["VmRSS"].split()[0]) / 1024)
        return sorted(sizes)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def get(port: int, path: str, cookie: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path, headers={"Cookie": cookie} if cookie else {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def run_wrk(
    wrk: str, port: int, path: str, cookie: str, *, seconds: int, connections: int
) -> dict:
    command = [
        wrk,
        f"-c{connections}",
        "-t2",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "-s",
        str(ROOT / "bench" / "report.lua"),
        "-H",
        f"Cookie: {cookie}",
        f"http://127.0.0.1:{port}{path}",
    ]
    output = subprocess.run(
        command, capture_output=True, text=True, timeout=seconds + 60, check=True
    ).stdout
    line = next(line for line in output.splitlines() if line.startswith("BENCH_JSON "))
    return json.loads(line.removeprefix("BENCH_JSON "))


# --- Batches --------------------------------------------------------------------------


def time_sweep(expected: int) -> float:
    from cases import services
    from cases.models import Case, CaseEvent, Notification, NotificationKind, Status

    closed_before = Case.objects.filter(status=Status.CLOSED).count()
    started = time.perf_counter()
    closed = services.close_stale_cases()
    seconds = time.perf_counter() - started
    if len(closed) != expected:
        raise SystemExit(f"The sweep closed {len(closed)} cases, {expected} were due.")
    # Each closed case carries its history entry and its notification row.
    ids = [case.pk for case in closed]
    assert Case.objects.filter(status=Status.CLOSED).count() == closed_before + expected
    assert CaseEvent.objects.filter(case_id__in=ids, transition="auto_close").count() == expected
    assert (
        Notification.objects.filter(case_id__in=ids, kind=NotificationKind.AUTO_CLOSED).count()
        == expected
    )
    return seconds


def time_relay() -> tuple[int, float]:
    from django.core import mail

    from cases import outbox
    from cases.models import Notification, NotificationState

    ids = list(
        Notification.objects.filter(state=NotificationState.QUEUED)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    mail.outbox = []
    started = time.perf_counter()
    # As the workers do with the sweep's emails: deliver_many() per batch.
    for start in range(0, len(ids), outbox.SEND_BATCH_SIZE):
        outbox.deliver_many(ids[start : start + outbox.SEND_BATCH_SIZE])
    seconds = time.perf_counter() - started
    sent = Notification.objects.filter(pk__in=ids, state=NotificationState.SENT).count()
    if sent != len(ids) or len(mail.outbox) != len(ids):
        raise SystemExit(f"The relay sent {sent} of {len(ids)} emails.")
    mail.outbox = []
    return len(ids), seconds


def purge_broker() -> None:
    from portal.celery import app

    try:
        app.control.purge()
    except Exception as error:  # noqa: BLE001 - a broker without purge leaves nothing behind
        print(f"  (broker not purged: {error})")


# --- The table ------------------------------------------------------------------------


def yes_no(met: bool | None) -> str:
    return "" if met is None else ("yes" if met else "MISSED")


def render(report: Report, args: argparse.Namespace) -> str:
    lines = [
        "",
        f"Support portal benchmark: PostgreSQL, {report.cases:,} cases, {report.messages:,} messages; "
        f"gunicorn 2 sync workers, wrk {args.connections} connections x {args.duration} s per page",
        "",
        f"{'page':<38}{'req/s':>8}{'x floor':>9}{'p50 ms':>9}{'p99 ms':>9}{'queries':>9}  {'target':<28}{'met':>6}",
    ]
    for page in report.pages:
        share = f"{page.share_of_floor:.0%}" if page.share_of_floor is not None else "-"
        lines.append(
            f"{page.name:<38}{page.requests_per_second:>8.0f}{share:>9}{page.p50_ms:>9.1f}{page.p99_ms:>9.1f}"
            f"{page.queries:>9}  {page.target:<28}{yes_no(page.met):>6}"
        )
    lines += [
        "",
        "in process (Django's test client, median), a page rendered afresh vs from the cache:",
    ]
    for page in report.pages:
        lines.append(
            f"  {page.name:<36}{page.render_ms:>6.1f} ms {page.queries:>2} q"
            f"   vs {page.cached_ms:>5.1f} ms {page.cached_queries:>2} q"
        )
    if report.query_growth:
        lines.append("")
        for name, (small, big) in report.query_growth.items():
            verdict = "same" if small == big else "GROWS"
            lines.append(f"queries, {name}: {small} vs {big} ({verdict})")
    if report.worker_rss_mb:
        sizes = ", ".join(f"{size:.0f} MB" for size in report.worker_rss_mb)
        lines.append(f"web workers' memory (RSS) after the run: {sizes}")
    if report.batches:
        lines += [
            "",
            f"{'batch':<46}{'items':>8}{'seconds':>9}{'per s':>9}  {'target':<28}{'met':>6}",
        ]
        for batch in report.batches:
            lines.append(
                f"{batch.name:<46}{batch.items:>8,}{batch.seconds:>9.1f}{batch.per_second:>9.0f}"
                f"  {batch.target:<28}{yes_no(batch.met):>6}"
            )
    lines += [f"note: {note}" for note in report.notes]
    return "\n".join(lines) + "\n"


def run_batches(args: argparse.Namespace, dataset, report: Report) -> None:
    """The sweep at 200,000 cases, the relay of its emails, the sweep at 1,000,000."""
    from bench import data

    if "sweep" not in args.skip:
        step(f"Sweep: {dataset.due_cases:,} due among {dataset.cases:,} cases")
        seconds = time_sweep(dataset.due_cases)
        purge_broker()
        small_sweep = BatchResult(
            f"sweep: {dataset.due_cases:,} due among {dataset.cases:,}",
            dataset.due_cases,
            seconds,
            f"<= {SWEEP_MAX_SECONDS:.0f} s",
            seconds <= SWEEP_MAX_SECONDS,
        )
        report.batches.append(small_sweep)
        if "relay" not in args.skip:
            step("Relay: delivering the sweep's emails to Anymail's test backend")
            sent, seconds = time_relay()
            rate = sent / seconds if seconds else 0
            report.batches.append(
                BatchResult(
                    f"relay: {sent:,} emails, one process, batches of 100",
                    sent,
                    seconds,
                    f">= {RELAY_MIN_PER_SECOND:.0f} emails/s",
                    rate >= RELAY_MIN_PER_SECOND,
                )
            )
        if "big-sweep" not in args.skip and args.big_table > dataset.cases:
            step(f"Topping the table up to {args.big_table:,} cases")
            data.top_up(total_cases=args.big_table, due_cases=dataset.due_cases)
            data.analyze()
            step(f"Sweep: {dataset.due_cases:,} due among {args.big_table:,} cases")
            seconds = time_sweep(dataset.due_cases)
            purge_broker()
            growth = seconds / small_sweep.seconds
            report.batches.append(
                BatchResult(
                    f"sweep: {dataset.due_cases:,} due among {args.big_table:,}",
                    dataset.due_cases,
                    seconds,
                    f"<= {SWEEP_MAX_GROWTH}x the 200k sweep ({growth:.2f}x)",
                    seconds <= SWEEP_MAX_SECONDS and growth <= SWEEP_MAX_GROWTH,
                )
            )


# --- Main -----------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not args.database_url.startswith(("postgres://", "postgresql://")):
        raise SystemExit("The benchmark runs on PostgreSQL: set BENCH_DATABASE_URL.")
    wrk = ensure_wrk() if "http" not in args.skip else ""
    var_dir = Path(tempfile.mkdtemp(prefix="portal-bench-"))
    env = production_env(args, var_dir)
    os.environ.update(env)
    # The in-process test client calls itself "testserver"; the served portal does not.
    os.environ["ALLOWED_HOSTS"] = "127.0.0.1,testserver"
    sys.path.insert(0, str(ROOT))

    step(f"Recreating {urlsplit(args.database_url).path.lstrip('/')} and migrating")
    recreate_database(args.database_url)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    call_command("collectstatic", verbosity=0, interactive=False)
    from django.core.cache import cache

    cache.clear()  # nothing rendered by an earlier run is served

    from bench import data
    from cases.models import Case
    from portal.models import User

    scale = (
        data.Scale(
            cases=20_000,
            customers=200,
            organisations=20,
            big_customer_cases=10_000,
            due_cases=1_000,
        )
        if args.small
        else data.STANDARD
    )
    step(f"Building the data set ({scale.cases:,} cases)")
    started = time.perf_counter()
    dataset = data.build(scale)
    data.analyze()
    report = Report(cases=dataset.cases, messages=dataset.messages)
    report.notes.append(f"data set built in {time.perf_counter() - started:.0f} s")

    customer = User.objects.get(pk=dataset.big_customer_id)
    engineer = User.objects.get(pk=dataset.engineer_id)
    long_case = Case.objects.get(pk=dataset.long_thread_case_id)
    short_case = (
        Case.objects.filter(requester=customer).exclude(pk=long_case.pk).order_by("pk").first()
    )
    small_customer = (
        User.objects.filter(requested_cases__isnull=False)
        .exclude(pk=customer.pk)
        .order_by("pk")
        .first()
    )

    pages = [
        ("floor: signed-in ping", "/accounts/ping/", customer, "", None),
        (
            f"My Cases page 1 ({scale.big_customer_cases:,} cases)",
            "/cases/",
            customer,
            f">= {LIST_MIN_SHARE:.0%} of floor, <= {LIST_MAX_QUERIES} q",
            ("list", LIST_MIN_SHARE, LIST_MAX_QUERIES),
        ),
        (
            "My Cases, Pending Customer",
            "/cases/?status=pending_customer",
            customer,
            f">= {LIST_MIN_SHARE:.0%} of floor, <= {LIST_MAX_QUERIES} q",
            ("list", LIST_MIN_SHARE, LIST_MAX_QUERIES),
        ),
        (
            f"one case, {scale.long_thread_messages} messages",
            long_case.get_absolute_url(),
            customer,
            f">= {THREAD_MIN_SHARE:.0%} of floor, <= {THREAD_MAX_QUERIES} q",
            ("list", THREAD_MIN_SHARE, THREAD_MAX_QUERIES),
        ),
        (
            "admin case list (engineer)",
            "/admin/cases/case/",
            engineer,
            f"p99 < {ADMIN_MAX_P99_MS} ms, <= {ADMIN_MAX_QUERIES} q",
            ("admin", ADMIN_MAX_P99_MS, ADMIN_MAX_QUERIES),
        ),
    ]

    step("Measuring each page in-process: queries and time, afresh and from cache")
    results = [
        PageResult(name=name, path=path, target=target, **asdict(measure_in_process(user, path)))
        for name, path, user, target, _ in pages
    ]
    report.query_growth = {
        f"one case, 3 vs {scale.long_thread_messages} messages": (
            measure_in_process(customer, short_case.get_absolute_url()).queries,
            results[3].queries,
        ),
        "My Cases, a few rows vs a full page": (
            measure_in_process(small_customer, "/cases/?status=pending_customer").queries,
            results[2].queries,
        ),
    }

    if "http" not in args.skip:
        server_env = {**os.environ, **env}
        server = Server(server_env, args.port, var_dir / "gunicorn.log")
        try:
            server.wait_ready()
            cookies = {user.pk: session_cookie(user) for user in (customer, engineer)}
            for (name, path, user, _, _), result in zip(pages, results, strict=True):
                status, body = get(args.port, path, cookies[user.pk])
                if status != 200:
                    raise SystemExit(f"{path} answered {status} over HTTP: {body[:300]!r}")
                step(f"Load: {name} ({path})")
                if args.warmup:
                    run_wrk(
                        wrk,
                        args.port,
                        path,
                        cookies[user.pk],
                        seconds=args.warmup,
                        connections=args.connections,
                    )
                figures = run_wrk(
                    wrk,
                    args.port,
                    path,
                    cookies[user.pk],
                    seconds=args.duration,
                    connections=args.connections,
                )
                result.requests = figures["requests"]
                result.errors = figures["errors"] + figures["status_errors"]
                result.requests_per_second = figures["requests"] / (figures["duration_us"] / 1e6)
                result.p50_ms = figures["p50_us"] / 1000
                result.p99_ms = figures["p99_us"] / 1000
                if result.errors:
                    report.notes.append(f"{name}: {result.errors} errors under load")
            report.worker_rss_mb = server.worker_rss_mb()
        finally:
            server.stop()
        floor = results[0].requests_per_second
        for result in results[1:]:
            result.share_of_floor = result.requests_per_second / floor if floor else None

    for (_, _, _, _, rule), result in zip(pages, results, strict=True):
        if rule is None:
            continue
        kind, limit, max_queries = rule
        if kind == "list":
            fast = result.share_of_floor is None or result.share_of_floor >= limit
        else:
            fast = result.requests == 0 or result.p99_ms < limit
        result.met = fast and result.queries <= max_queries
    report.pages = results

    failed = False
    try:
        run_batches(args, dataset, report)
    except Exception:  # noqa: BLE001 - the figures so far are still printed
        failed = True
        traceback.print_exc()
        report.notes.append("stopped early: see the error above")

    load = os.getloadavg()
    report.notes.append(
        f"load average at the end: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} on {os.cpu_count()} cores"
    )
    text = render(report, args)
    print(text)
    out = args.json or ROOT / "bench-results" / f"bench-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "pages": [asdict(p) for p in report.pages],
                "batches": [{**asdict(b), "per_second": b.per_second} for b in report.batches],
                "query_growth": report.query_growth,
                "worker_rss_mb": report.worker_rss_mb,
                "notes": report.notes,
                "table": text,
            },
            indent=2,
        )
    )
    shutil.rmtree(var_dir, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
