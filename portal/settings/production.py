"""Production (DEBUG off): refuses to start without what a public server needs, and
serves HTTPS only.

The process stops at start, rather than silently inheriting a local default, without a
long random secret key, the host names, the email webhook secret, or an email backend
that sends (unless ALLOW_DEVELOPMENT_EMAIL_BACKEND=true says so on purpose).
"""

import os

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import (
    ALLOW_DEVELOPMENT_EMAIL_BACKEND,
    ALLOWED_HOSTS,
    ANYMAIL,
    DEVELOPMENT_EMAIL_BACKENDS,
    DEVELOPMENT_SECRET_KEY,
    EMAIL_BACKEND_PATH,
    LOG_LEVEL,
    SECRET_KEY,
    STORAGES,
    env_bool,
    env_int,
    logging_config,
)

DEBUG = False

if SECRET_KEY == DEVELOPMENT_SECRET_KEY or len(SECRET_KEY) < 50:
    raise ImproperlyConfigured(
        "DEBUG is off: set SECRET_KEY to a long random value (50+ characters)."
    )
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured("DEBUG is off: set ALLOWED_HOSTS (comma separated).")
if not ANYMAIL.get("WEBHOOK_SECRET"):
    # Without it anyone could post inbound replies and delivery events.
    raise ImproperlyConfigured(
        'DEBUG is off: set ANYMAIL_WEBHOOK_SECRET ("user:long-random-password").'
    )
if EMAIL_BACKEND_PATH in DEVELOPMENT_EMAIL_BACKENDS and not ALLOW_DEVELOPMENT_EMAIL_BACKEND:
    # A backend that sends nothing loses every email, password resets included.
    raise ImproperlyConfigured(
        f"DEBUG is off: set EMAIL_BACKEND to a backend that sends mail (an Anymail "
        f"one), not {EMAIL_BACKEND_PATH}; ALLOW_DEVELOPMENT_EMAIL_BACKEND=true allows "
        f"it on purpose."
    )

# Hashed, compressed static files, cacheable for ever (`collectstatic` at release).
STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=True)
# Load balancers probe each server over plain HTTP; the answer carries nothing private.
SECURE_REDIRECT_EXEMPT = [r"^health/$"]
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True

# One JSON object per log line, for the log pipeline; LOG_FORMAT=plain for people.
LOGGING = logging_config(os.environ.get("LOG_FORMAT") or "json", LOG_LEVEL)
