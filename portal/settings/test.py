"""The test suite: fast and isolated. Tasks run inline (tests/conftest.py) unless a test
starts a worker; the broker is `CELERY_BROKER_URL` (pyproject.toml: memory://)."""

from .base import *  # noqa: F403
from .base import DEVELOPMENT_SECRET_KEY, SECRET_KEY, STORAGES, TEMPLATES

SECRET_KEY = SECRET_KEY or DEVELOPMENT_SECRET_KEY
# Tests of the admin sign in with a password alone; tests/twofactor turns it on.
ADMIN_REQUIRE_2FA = False
# A fast hasher: factories set a password on every user they build.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Attachments on the disk whatever the environment says; `file_storage` (tests/storage.py)
# runs a test on a bucket as well.
STORAGES = {**STORAGES, "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"}}
# One cache per test process (the file cache would be shared by the xdist workers).
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Jinja2 templates send `template_rendered` as Django's do under test (response.templates).
jinja_engine, *other_engines = TEMPLATES
TEMPLATES = [
    {
        **jinja_engine,
        "OPTIONS": {
            **jinja_engine["OPTIONS"],
            "environment": "tests.instrumented_jinja2.environment",
        },
    },
    *other_engines,
]
