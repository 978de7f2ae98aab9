"""Settings common to every way the portal runs, read from the environment.

See `.env.example`. The defaults run the whole portal on one machine with no server at
all: SQLite, kombu's filesystem broker and emails printed by the worker. `local`,
`production` and `test` add what only they need. Nothing here touches the disk: folders
are made by what uses them (the broker transport, the beat scheduler, the cache).
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP
from jinja2 import ChainableUndefined, select_autoescape
from kombu import Queue
from pythonjsonlogger.core import RESERVED_ATTRS as JSON_LOG_RESERVED_ATTRS

from portal.monitoring import sentry as monitoring_sentry

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(os.environ.get("PORTAL_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def env_int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


# Used by `local` and `test` when SECRET_KEY is unset; `production` refuses it.
DEVELOPMENT_SECRET_KEY = "django-insecure-development-only-never-use-in-production"

DEBUG = False
SECRET_KEY = os.environ.get("SECRET_KEY", "")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "portal",
    "cases",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    # Engineers' second factor for the admin (portal/twofactor), after django-otp's devices.
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "portal.twofactor",
    "anymail",
    "axes",
    # `/health/` (portal.monitoring.health) and its HTML page.
    "health_check",
]

MIDDLEWARE = [
    # First, to time the whole stack.
    "portal.monitoring.metrics.RequestMetricsMiddleware",
    # Early, so that every log line of the request carries its id.
    "portal.monitoring.request_id.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Before CommonMiddleware, which would refuse a load balancer's Host.
    "portal.monitoring.health.HealthProbeMiddleware",
    "portal.middleware.InboundEmailSizeMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Times in the signed-in person's own zone, pages and admin alike.
    "portal.time_zones.UserTimeZoneMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "portal.twofactor.middleware.AdminSecondFactorMiddleware",
    "portal.request_guards.PrivatePagesMiddleware",
    "portal.request_guards.UploadSizeLimitMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, so that it sees the outcome of authentication (django-axes' requirement).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

CONTEXT_PROCESSORS = [
    "django.template.context_processors.request",
    "django.template.context_processors.csp",
    "django.contrib.auth.context_processors.auth",
    "django.contrib.messages.context_processors.messages",
]
TEMPLATES = [
    # The portal's pages and emails (templates/): Jinja2, for speed (portal/jinja2.py).
    {
        "BACKEND": "django.template.backends.jinja2.Jinja2",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": False,
        "OPTIONS": {
            "environment": "portal.jinja2.environment",
            # Built into Django's engine: one CSRF token made per page, not one per use.
            "context_processors": ["django.template.context_processors.csrf", *CONTEXT_PROCESSORS],
            # Text emails (.txt) are never HTML-escaped, whatever block they come from.
            "autoescape": select_autoescape(disabled_extensions=["txt"], default=True),
            # As Django's templates: a missing value renders empty, in development too,
            # and a file's last newline is kept.
            "undefined": ChainableUndefined,
            "keep_trailing_newline": True,
        },
    },
    # The admin, with its overrides in cases/templates/admin/.
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": CONTEXT_PROCESSORS},
    },
]

# Form widgets in Jinja2 where Django has them so (portal/jinja2.py).
FORM_RENDERER = "portal.jinja2.FormRenderer"

# --- Database -------------------------------------------------------------------------

DATABASES = {
    # An empty DATABASE_URL means "not set", as for every other variable here.
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=env_int("DB_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and beat write to one file under `make run`.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;"
        ),
    }
elif DATABASES["default"]["ENGINE"].endswith("postgresql") and env_bool(
    "DB_PREPARED_STATEMENTS", True
):
    # Parameters bound by the server, and a query run 5 times on a connection prepared:
    # PostgreSQL then skips planning it again, which cost as much as running most of
    # the portal's queries. Off for a pooler that cannot keep prepared statements
    # (PgBouncer before 1.21 in transaction mode).
    DATABASES["default"]["OPTIONS"] = {"server_side_binding": True, "prepare_threshold": 5}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache ----------------------------------------------------------------------------

# Shared by every web and worker process: password-reset counts and Mailgun tokens seen,
# nothing a page needs (an outage refuses a Mailgun post, which Mailgun retries, and
# skips the reset limit, with a warning). Redis in production (CACHE_URL=redis://...);
# files under var/ on one machine otherwise.
CACHE_URL = os.environ.get("CACHE_URL", "")
if CACHE_URL.startswith(("redis://", "rediss://", "unix://")):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CACHE_URL,
            # A hung Redis must slow a request down a little, not hold it.
            "OPTIONS": {"socket_connect_timeout": 0.25, "socket_timeout": 0.25},
        }
    }
elif CACHE_URL:
    raise ImproperlyConfigured("CACHE_URL must be a redis:// URL, or empty for a file cache.")
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

# --- Accounts -------------------------------------------------------------------------

AUTH_USER_MODEL = "portal.User"
AUTHENTICATION_BACKENDS = [
    # First, so that a locked-out client is refused before its password is checked.
    "axes.backends.AxesStandaloneBackend",
    "portal.backends.PortalBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "cases:list"
LOGOUT_REDIRECT_URL = "login"

# Brute force: a client (username + address) is locked for a while, never forever, so an
# attacker cannot lock a victim out for good.
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# Attempts made while locked do not restart the clock: the lock always ends on time.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_USERNAME_FORM_FIELD = "username"
# Every spelling of an address that signs in to one account counts as that account.
AXES_USERNAME_CALLABLE = "portal.backends.axes_username"
AXES_VERBOSE = False


def client_address_settings(proxy_count: int) -> dict:
    """How the client's address is found (the lockout's and the reset limit's key).

    Behind `proxy_count` reverse proxies, each appending the address it was reached from
    to X-Forwarded-For, the client is that many entries from the right of the header;
    whatever a client wrote further left is ignored. With none, only the socket's
    address counts and the header is not read at all.
    """
    if proxy_count <= 0:
        return {
            "AXES_IPWARE_META_PRECEDENCE_ORDER": ("REMOTE_ADDR",),
            "AXES_IPWARE_PROXY_COUNT": None,
            "IPWARE_STRICT": True,
        }
    return {
        "AXES_IPWARE_META_PRECEDENCE_ORDER": ("HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"),
        # django-ipware counts the proxies written in the header after the client; the
        # nearest one is REMOTE_ADDR, not in the header.
        "AXES_IPWARE_PROXY_COUNT": proxy_count - 1,
        # "At least that many", counted from the right: forged entries on the left of
        # the header then change nothing (strict would fall back to the proxy's address).
        "IPWARE_STRICT": False,
    }


_client_address = client_address_settings(env_int("AXES_PROXY_COUNT", 0))
AXES_IPWARE_META_PRECEDENCE_ORDER = _client_address["AXES_IPWARE_META_PRECEDENCE_ORDER"]
AXES_IPWARE_PROXY_COUNT = _client_address["AXES_IPWARE_PROXY_COUNT"]
IPWARE_STRICT = _client_address["IPWARE_STRICT"]

# Staff verify a second factor (an authenticator app, or a backup code) before any admin
# page; wrong codes lock like passwords (AXES_FAILURE_LIMIT, AXES_COOLOFF_TIME). On unless
# DEBUG (`local` turns it off); ADMIN_REQUIRE_2FA=false relaxes it on purpose, and
# `check --deploy` then warns. README: "Two-factor sign-in for engineers".
ADMIN_REQUIRE_2FA = env_bool("ADMIN_REQUIRE_2FA", default=not DEBUG)
OTP_TOTP_ISSUER = os.environ.get("OTP_TOTP_ISSUER", "Support Portal")
# The admin's device pages never show a secret or a backup code.
OTP_ADMIN_HIDE_SENSITIVE_DATA = True

# Password reset requests: a few per address and per client in a window (portal/
# password_reset.py), answered the same whether or not the address has an account.
PASSWORD_RESET_LIMIT_PER_ADDRESS = env_int("PASSWORD_RESET_LIMIT_PER_ADDRESS", 3)
PASSWORD_RESET_LIMIT_PER_CLIENT = env_int("PASSWORD_RESET_LIMIT_PER_CLIENT", 10)
PASSWORD_RESET_LIMIT_WINDOW = timedelta(minutes=env_int("PASSWORD_RESET_LIMIT_WINDOW_MINUTES", 60))

# --- Internationalisation -------------------------------------------------------------

LANGUAGE_CODE = "en-gb"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True
# Times in the admin as on the portal's pages (portal/timefmt.py).
FORMAT_MODULE_PATH = ["portal.formats"]

# --- Static files and uploads ---------------------------------------------------------

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))


def s3_storage(
    *,
    bucket_name: str,
    endpoint_url: str = "",
    region_name: str = "",
    addressing_style: str = "",
    location: str = "",
    **credentials: str,
) -> dict:
    """Attachments in a private bucket of any S3-compatible store (AWS S3, MinIO, R2).

    Credentials come from boto3's usual places (AWS_ACCESS_KEY_ID and
    AWS_SECRET_ACCESS_KEY, an instance or task role) unless passed in `credentials`.
    Nothing here can make an object public: no ACL is sent (the bucket's own, private,
    applies), a URL would be signed and short-lived, and the portal never hands one out.
    """
    from boto3.s3.transfer import TransferConfig
    from botocore.config import Config

    return {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": bucket_name,
            "endpoint_url": endpoint_url or None,
            "region_name": region_name or None,
            "location": location,
            "default_acl": None,
            "querystring_auth": True,
            "querystring_expire": 60,
            "custom_domain": None,
            # Stored names are random; never replace an object that is there all the same.
            "file_overwrite": False,
            # Opaque bytes a browser would save, not render, were an object ever reached
            # directly; the download view sends the checked type and name.
            "object_parameters": {
                "ContentType": "application/octet-stream",
                "ContentDisposition": "attachment",
            },
            # A download is copied from the bucket before it is sent: past 1 MB into a
            # temporary file rather than memory.
            "max_memory_size": 1024 * 1024,
            # A file is at most ATTACHMENT_MAX_BYTES: a pool of threads per transfer
            # costs a web request more time than it saves.
            "transfer_config": TransferConfig(use_threads=False),
            # A store that hangs slows a request down, it does not hold it for minutes.
            "client_config": Config(
                s3={"addressing_style": addressing_style} if addressing_style else {},
                connect_timeout=5,
                read_timeout=30,
                retries={"mode": "standard", "max_attempts": 3},
            ),
            **credentials,
        },
    }


def attachment_storage() -> dict:
    """The `default` storage, where attachments are kept: MEDIA_ROOT on the local disk,
    or a bucket with STORAGE_BACKEND=s3 (implied by AWS_STORAGE_BUCKET_NAME)."""
    bucket = os.environ.get("AWS_STORAGE_BUCKET_NAME", "").strip()
    backend = os.environ.get("STORAGE_BACKEND", "").strip().lower() or (
        "s3" if bucket else "filesystem"
    )
    if backend == "filesystem":
        return {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    if backend != "s3":
        raise ImproperlyConfigured('STORAGE_BACKEND must be "filesystem" or "s3".')
    if not bucket:
        raise ImproperlyConfigured("STORAGE_BACKEND=s3: set AWS_STORAGE_BUCKET_NAME.")
    return s3_storage(
        bucket_name=bucket,
        endpoint_url=os.environ.get("AWS_S3_ENDPOINT_URL", "").strip(),
        region_name=os.environ.get("AWS_S3_REGION_NAME", "").strip(),
        addressing_style=os.environ.get("AWS_S3_ADDRESSING_STYLE", "").strip(),
        location=os.environ.get("AWS_LOCATION", "").strip().strip("/"),
    )


STORAGES = {
    # Attachments are private: they are served only through a permission-checked view.
    "default": attachment_storage(),
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

ATTACHMENT_MAX_BYTES = env_int("ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024)
ATTACHMENT_MAX_FILES = env_int("ATTACHMENT_MAX_FILES", 5)
# Keep a whole request (several attachments) bounded before Django parses it.
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
# An inbound email webhook carries the whole email: its attachments (each within
# ATTACHMENT_MAX_BYTES, base64-encoded by some providers) and text.
INBOUND_EMAIL_MAX_BYTES = env_int(
    "INBOUND_EMAIL_MAX_BYTES", 2 * ATTACHMENT_MAX_BYTES * ATTACHMENT_MAX_FILES
)

# --- Case clocks (the closure policy on the help page is rendered from these) ---------

CASE_PENDING_CUSTOMER_AUTO_CLOSE_DAYS = env_int("CASE_PENDING_CUSTOMER_AUTO_CLOSE_DAYS", 14)
CASE_RESOLVED_AUTO_CLOSE_DAYS = env_int("CASE_RESOLVED_AUTO_CLOSE_DAYS", 7)
# Days before an automatic close on which the customer is reminded.
CASE_REMINDER_DAYS_BEFORE = [int(d) for d in env_list("CASE_REMINDER_DAYS_BEFORE", "7,1")]
CASE_SWEEP_BATCH_SIZE = env_int("CASE_SWEEP_BATCH_SIZE", 500)
# Service levels: how far into a response target (in percent of it) the assignee, or
# the on-call address, is warned before it is missed.
SERVICE_LEVEL_WARN_AT_PERCENT = env_int("SERVICE_LEVEL_WARN_AT_PERCENT", 75)
# A notification that hit a temporary provider error is retried after ~this, doubling.
NOTIFICATION_RETRY_BACKOFF_SECONDS = env_int("NOTIFICATION_RETRY_BACKOFF_SECONDS", 30)
CASES_PER_PAGE = env_int("CASES_PER_PAGE", 25)

# --- Email ----------------------------------------------------------------------------

# Locally, emails are printed readable (the worker's output under `make run`).
EMAIL_BACKEND_PATH = os.environ.get("EMAIL_BACKEND") or "portal.mail.ReadableConsoleBackend"
MAILERS = {"default": {"BACKEND": EMAIL_BACKEND_PATH, "OPTIONS": {}}}
if EMAIL_BACKEND_PATH.endswith("filebased.EmailBackend"):
    MAILERS["default"]["OPTIONS"]["file_path"] = os.environ.get(
        "EMAIL_FILE_PATH", str(VAR_DIR / "sent-mail")
    )
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Support <support@example.com>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Replies to notifications come back to `<token>@<REPLY_DOMAIN>` through Anymail inbound.
REPLY_DOMAIN = os.environ.get("REPLY_DOMAIN", "reply.example.com")

ANYMAIL = {
    "WEBHOOK_SECRET": os.environ.get("ANYMAIL_WEBHOOK_SECRET", ""),
    "POSTMARK_SERVER_TOKEN": os.environ.get("POSTMARK_SERVER_TOKEN", ""),
    "MAILGUN_API_KEY": os.environ.get("MAILGUN_API_KEY", ""),
    "MAILGUN_SENDER_DOMAIN": os.environ.get("MAILGUN_SENDER_DOMAIN", ""),
    "MAILGUN_WEBHOOK_SIGNING_KEY": os.environ.get("MAILGUN_WEBHOOK_SIGNING_KEY", ""),
}
# Anymail takes an empty string for a real key (an empty Mailgun signing key would accept
# forged posts): unset keys are left out, so a webhook without its key refuses to run.
ANYMAIL = {name: value for name, value in ANYMAIL.items() if value}
# A Mailgun webhook signature is accepted once, within this many seconds of its timestamp.
MAILGUN_WEBHOOK_MAX_AGE_SECONDS = env_int("MAILGUN_WEBHOOK_MAX_AGE_SECONDS", 300)

# Backends that send nothing: fine on a laptop, silent loss of every email (password
# resets included) in production.
DEVELOPMENT_EMAIL_BACKENDS = {
    "portal.mail.ReadableConsoleBackend",
    "django.core.mail.backends.console.EmailBackend",
    "django.core.mail.backends.locmem.EmailBackend",
    "django.core.mail.backends.filebased.EmailBackend",
    "django.core.mail.backends.dummy.EmailBackend",
    "anymail.backends.test.EmailBackend",
}
# For a staging copy or a benchmark that must not email anyone (see `production`).
ALLOW_DEVELOPMENT_EMAIL_BACKEND = env_bool("ALLOW_DEVELOPMENT_EMAIL_BACKEND")
# Inbound replies (cases.inbound): the providers whose inbound webhook may add replies.
INBOUND_EMAIL_ESPS = [esp.lower() for esp in env_list("INBOUND_EMAIL_ESPS", "postmark,mailgun")]
# Mail from these domains is our own coming back (a loop), never a customer's reply.
OWN_EMAIL_DOMAINS = [d.lower() for d in env_list("OWN_EMAIL_DOMAINS", REPLY_DOMAIN)]
# New P1/P2 cases alert this address (e.g. an on-call list); unset: every engineer.
ONCALL_EMAIL = os.environ.get("ONCALL_EMAIL", "").strip()
# An emailed reply to a Closed case: "reopen" it, or start a "new_case" linked to it.
CASE_EMAIL_REPLY_TO_CLOSED = os.environ.get("CASE_EMAIL_REPLY_TO_CLOSED", "reopen")
if CASE_EMAIL_REPLY_TO_CLOSED not in {"reopen", "new_case"}:
    raise ImproperlyConfigured('CASE_EMAIL_REPLY_TO_CLOSED must be "reopen" or "new_case".')

# --- Celery ---------------------------------------------------------------------------

# A host name, though the filesystem transport ignores it: without one kombu warns
# "No hostname was supplied" every time a connection is cloned (every publish).
DEFAULT_BROKER_URL = "filesystem://localhost/"
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL") or DEFAULT_BROKER_URL
if CELERY_BROKER_URL.startswith("filesystem://"):
    BROKER_DIR = VAR_DIR / "broker"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "out"),
        "data_folder_out": str(BROKER_DIR / "out"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
        # Message files that cannot be decoded (a full disk) are set aside here.
        "corrupt_folder": str(BROKER_DIR / "corrupt"),
    }
    # kombu's filesystem transport, except that it makes its folders on first use and
    # one damaged file cannot stop the worker.
    CELERY_BROKER_TRANSPORT = "portal.broker:Transport"
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": 3600,
        # Without these a broker that accepts connections but never answers (overloaded,
        # half-open after a failover) blocks the publishing web request for ever.
        "socket_timeout": 2,
        "socket_connect_timeout": 2,
    }
# Two queues. Tasks that talk to the email provider go to `email`; everything else (the
# sweep, the relay, service levels, reminders, digests: quick database work) to Celery's
# default `celery`. A backlog of mail, or a slow provider, then never delays closing:
# a worker that consumes `celery` alone keeps the clocks on time whatever `email` holds.
# A worker started without -Q consumes both (the Procfile's says so explicitly).
CELERY_TASK_DEFAULT_QUEUE = "celery"
EMAIL_QUEUE = "email"
CELERY_TASK_QUEUES = [
    Queue(CELERY_TASK_DEFAULT_QUEUE, routing_key=CELERY_TASK_DEFAULT_QUEUE),
    Queue(EMAIL_QUEUE, routing_key=EMAIL_QUEUE),
]
CELERY_TASK_ROUTES = {
    "cases.tasks.send_notification": {"queue": EMAIL_QUEUE},
    "cases.tasks.send_notifications_task": {"queue": EMAIL_QUEUE},
    "portal.tasks.send_password_reset": {"queue": EMAIL_QUEUE},
}
CELERY_TASK_IGNORE_RESULT = True
# The worker prints emails locally (portal.mail): they are output, not warnings.
CELERY_WORKER_REDIRECT_STDOUTS_LEVEL = "INFO"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# Celery's schedule file, whose folder beat makes when it starts.
CELERY_BEAT_SCHEDULER = "portal.celery:Scheduler"
# A broker outage must not hang a web request: publishing gives up fast and the relay
# sweep sends what was recorded in the outbox.
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
}
CASE_SWEEP_INTERVAL_SECONDS = env_int("CASE_SWEEP_INTERVAL_SECONDS", 15 * 60)
# The relay leaves fresh outbox rows to their own task for the grace period, and treats a
# row that has been "sending" for the stale period as lost with its worker.
NOTIFICATION_RELAY_GRACE_SECONDS = env_int("NOTIFICATION_RELAY_GRACE_SECONDS", 30)
NOTIFICATION_STALE_SENDING_SECONDS = env_int("NOTIFICATION_STALE_SENDING_SECONDS", 10 * 60)
CELERY_BEAT_SCHEDULE = {
    "close-stale-cases": {
        "task": "cases.tasks.close_stale_cases_task",
        "schedule": timedelta(seconds=CASE_SWEEP_INTERVAL_SECONDS),
    },
    "relay-notifications": {
        "task": "cases.tasks.relay_notifications_task",
        "schedule": timedelta(seconds=env_int("NOTIFICATION_RELAY_INTERVAL_SECONDS", 60)),
    },
    "check-service-levels": {
        "task": "cases.tasks.check_service_levels_task",
        "schedule": timedelta(seconds=env_int("SERVICE_LEVEL_CHECK_INTERVAL_SECONDS", 60)),
    },
    "send-reminders": {
        "task": "cases.tasks.send_reminders_task",
        "schedule": crontab(minute=env_int("REMINDER_MINUTE", 5)),
    },
    "send-daily-digests": {
        "task": "cases.tasks.send_daily_digests_task",
        "schedule": crontab(hour=env_int("DIGEST_HOUR", 7), minute=0),
    },
}

# --- Security -------------------------------------------------------------------------

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "object-src": [CSP.NONE],
}
# HTTPS only (HSTS, secure cookies): `production`.

# --- Health, metrics and errors (portal/monitoring/) ----------------------------------

# /health/ fails its outbox check when an email is still queued this long after its
# send time (its beat check allows twice CASE_SWEEP_INTERVAL_SECONDS between sweeps).
HEALTH_OUTBOX_MAX_AGE_SECONDS = env_int("HEALTH_OUTBOX_MAX_AGE_SECONDS", 15 * 60)
# /metrics answers only `Authorization: Bearer <METRICS_TOKEN>`; unset, it is a 404.
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")
# Its counts of every case and outbox row read whole tables: made at most this often.
METRICS_COUNTS_MAX_AGE_SECONDS = env_int("METRICS_COUNTS_MAX_AGE_SECONDS", 60)
# Unhandled errors of requests and tasks go to Sentry only when SENTRY_DSN is set.
SENTRY_DSN = os.environ.get("SENTRY_DSN", "")
monitoring_sentry.init(
    SENTRY_DSN,
    environment=os.environ.get("SENTRY_ENVIRONMENT", ""),
    release=os.environ.get("SENTRY_RELEASE", ""),
    traces_sample_rate=float(os.environ.get("SENTRY_TRACES_SAMPLE_RATE") or 0),
)

# --- Logging --------------------------------------------------------------------------


def logging_config(log_format: str, level: str) -> dict:
    """Every process's logging (web, worker and beat): "plain" lines for people, or
    "json", one object per line for a log pipeline. Each line carries the request id
    of the request, or of the request that queued the task (portal.monitoring.request_id).
    """
    if log_format not in {"plain", "json"}:
        raise ImproperlyConfigured('LOG_FORMAT must be "plain" or "json".')
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": "portal.monitoring.request_id.RequestIdFilter"}},
        "formatters": {
            "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
            "json": {
                "()": "pythonjsonlogger.json.JsonFormatter",
                "fmt": "%(levelname)s %(name)s %(request_id)s %(message)s",
                "rename_fields": {"levelname": "level", "name": "logger"},
                "timestamp": "time",
                # Django's `request` extra would be its repr: the path with its query.
                "reserved_attrs": [*JSON_LOG_RESERVED_ATTRS, "request"],
            },
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": log_format,
                "filters": ["request_id"],
            }
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {"axes": {"level": "WARNING"}},
    }


LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
LOGGING = logging_config(os.environ.get("LOG_FORMAT") or "plain", LOG_LEVEL)
# Worker and beat log through it too (portal/celery.py).
