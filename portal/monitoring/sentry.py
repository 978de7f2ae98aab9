"""Errors to Sentry, only when SENTRY_DSN is set (read by `portal/settings/base.py`)."""

from __future__ import annotations


def init(dsn: str, *, environment: str = "", release: str = "", traces_sample_rate: float = 0.0):
    """Start reporting unhandled errors of requests and tasks to `dsn`; with no DSN,
    nothing is started and nothing is ever sent."""
    if not dsn:
        return
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=dsn,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        # No user emails, addresses, cookies or request bodies...
        send_default_pii=False,
        # ...nor the stack frames' variables, which hold case text, email addresses and
        # session keys alike.
        include_local_variables=False,
        environment=environment or None,
        release=release or None,
        traces_sample_rate=traces_sample_rate,
    )
