"""Deployment checks for the email webhooks (`manage.py check --deploy`)."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.security, deploy=True)
def check_webhook_secret(app_configs, **kwargs) -> list[Error]:
    anymail = getattr(settings, "ANYMAIL", {})
    if anymail.get("WEBHOOK_SECRET"):
        return []
    return [
        Error(
            "ANYMAIL_WEBHOOK_SECRET is not set: anyone could post to the email webhooks "
            "and write replies into cases.",
            hint='Set ANYMAIL_WEBHOOK_SECRET to "user:long-random-password" and use it in '
            "the provider's webhook URLs.",
            id="cases.E001",
        )
    ]
