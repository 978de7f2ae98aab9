"""Prometheus metrics, served at `/metrics` to a scraper holding METRICS_TOKEN.

Two kinds:

- counted where they happen, in the process they happen in: requests and their latency
  per view (`RequestMetricsMiddleware`), inbound emails by outcome and reason (the web
  process), auto-closed cases and the sweep's duration (the worker);
- read at scrape time (`StateCollector`): cases by status, outbox rows by state, how
  late the oldest queued email is, and the last sweep's record from the shared cache,
  which any web process can serve wherever the sweep ran.

Several processes: with PROMETHEUS_MULTIPROC_DIR set (an empty folder, emptied before
the processes start), prometheus_client keeps each process's counters in files there
and a scrape adds them up, so any gunicorn worker answers for all of them, and for the
Celery worker too when it shares the folder (same machine). Without it, a scrape
shows only the process that answers it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from datetime import datetime

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import choose_encoder

logger = logging.getLogger(__name__)

# Anything else a client sends counts as one method, so a scan cannot add series.
METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}

REQUEST_DURATION = Histogram(
    "portal_http_request_duration_seconds",
    "Time to answer a request, by view (URL name), method and status code.",
    ["view", "method", "status"],
)
INBOUND_EMAILS = Counter(
    "portal_inbound_emails",
    "Emails received through the inbound webhook, by outcome and reason.",
    ["outcome", "reason"],
)
AUTO_CLOSED = Counter("portal_cases_auto_closed", "Cases closed by the auto-close sweep.")
SWEEP_DURATION = Histogram(
    "portal_case_sweep_duration_seconds",
    "Time a completed auto-close sweep took.",
    buckets=(0.1, 0.5, 1, 5, 15, 30, 60, 120, 300, 600, float("inf")),
)


class RequestMetricsMiddleware:
    """Time every request, first in the stack so that the whole stack is timed."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        REQUEST_DURATION.labels(
            view=_view_name(request),
            method=request.method if request.method in METHODS else "other",
            status=str(response.status_code),
        ).observe(time.perf_counter() - started)
        return response


def _view_name(request: HttpRequest) -> str:
    match = getattr(request, "resolver_match", None)
    # Unresolved paths (404s, scans) share one label.
    return match.view_name if match is not None else "none"


def count_inbound_email(*, outcome: str, reason: str) -> None:
    INBOUND_EMAILS.labels(outcome=outcome, reason=reason).inc()


# --- Read at scrape time --------------------------------------------------------------

COUNTS_KEY = "monitoring:metrics:counts"


class StateCollector:
    """Gauges read from the database and the cache when Prometheus scrapes.

    The outbox's backlog (queued and sending rows, the oldest queued one) comes from the
    partial index `notification_unsent` at every scrape. Counting every case and every
    outbox row reads whole tables (~0.1 s per million rows on PostgreSQL), so those
    counts are shared through the cache for METRICS_COUNTS_MAX_AGE_SECONDS: at most one
    count per period, however many processes are scraped.
    """

    def collect(self):
        from cases.models import NotificationState, Status

        try:
            counts = _whole_table_counts()
            backlog, oldest = _outbox_backlog()
        except DatabaseError:
            logger.warning("Metrics: could not read the database", exc_info=True)
        else:
            yield _gauge(
                "portal_cases", "Cases by status.", "status", Status.values, counts["cases"]
            )
            yield _gauge(
                "portal_outbox_notifications",
                "Outbox rows (emails) by state; queued and sending are current, the rest "
                "up to METRICS_COUNTS_MAX_AGE_SECONDS old.",
                "state",
                NotificationState.values,
                counts["notifications"] | backlog,
            )
            late = (timezone.now() - oldest).total_seconds() if oldest else 0.0
            yield GaugeMetricFamily(
                "portal_outbox_oldest_queued_seconds",
                "How far past its send time the longest-waiting queued email is (0: none).",
                value=max(late, 0.0),
            )
        yield from _last_sweep()


def _whole_table_counts() -> dict[str, dict[str, int]]:
    from cases.models import Case, Notification

    try:
        counts = cache.get(COUNTS_KEY)
    except Exception:
        counts = None  # the cache's own health check reports it
    if counts is None:
        counts = {
            "cases": dict(Case.objects.order_by().values_list("status").annotate(Count("id"))),
            "notifications": dict(
                Notification.objects.order_by().values_list("state").annotate(Count("id"))
            ),
        }
        with contextlib.suppress(Exception):
            cache.set(COUNTS_KEY, counts, settings.METRICS_COUNTS_MAX_AGE_SECONDS)
    return counts


def _outbox_backlog() -> tuple[dict[str, int], datetime | None]:
    """Queued and sending rows, and the send time of the oldest queued one."""
    from cases.models import Notification, NotificationState

    unsent = Notification.objects.filter(
        state__in=[NotificationState.QUEUED, NotificationState.SENDING]
    ).order_by()
    backlog = dict.fromkeys([NotificationState.QUEUED, NotificationState.SENDING], 0) | dict(
        unsent.values_list("state").annotate(Count("id"))
    )
    oldest = (
        unsent.filter(state=NotificationState.QUEUED)
        .order_by("next_attempt_at")
        .values_list("next_attempt_at", flat=True)
        .first()
    )
    return backlog, oldest


def _last_sweep():
    from . import sweeps

    try:
        record = sweeps.last_completed()
    except Exception:
        logger.warning("Metrics: could not read the sweep record", exc_info=True)
        return
    if record is None:
        return
    yield GaugeMetricFamily(
        "portal_case_sweep_last_completed_timestamp_seconds",
        "When the last completed auto-close sweep finished (Unix time).",
        value=record.finished_at.timestamp(),
    )
    yield GaugeMetricFamily(
        "portal_case_sweep_last_duration_seconds",
        "How long the last completed auto-close sweep took.",
        value=record.duration_seconds,
    )
    yield GaugeMetricFamily(
        "portal_case_sweep_last_closed",
        "Cases the last completed auto-close sweep closed.",
        value=record.closed,
    )


def _gauge(name: str, text: str, label: str, values, counts: dict) -> GaugeMetricFamily:
    """One series per value, 0 for values no row has, so that every series exists."""
    family = GaugeMetricFamily(name, text, labels=[label])
    for value, count in sorted((dict.fromkeys(values, 0) | counts).items()):
        family.add_metric([value], count)
    return family


class _ThisProcess:
    """This process's own metrics (and Python's), when there is one process."""

    def collect(self):
        return REGISTRY.collect()


def scrape_registry() -> CollectorRegistry:
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_ThisProcess())
    registry.register(StateCollector())
    return registry


# --- /metrics -------------------------------------------------------------------------


def authorised(request: HttpRequest) -> bool:
    token = settings.METRICS_TOKEN
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return bool(token) and scheme.lower() == "bearer" and constant_time_compare(given, token)


@never_cache
@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    """The metrics in Prometheus's text format, for `Authorization: Bearer METRICS_TOKEN`.

    Anyone else, and everyone when METRICS_TOKEN is unset, gets a 404: the page is
    not there for them.
    """
    if not authorised(request):
        raise Http404
    encoder, content_type = choose_encoder(request.headers.get("Accept", ""))
    return HttpResponse(encoder(scrape_registry()), content_type=content_type)
