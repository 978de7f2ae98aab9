"""What an engineer does on the way to the admin, for the two-factor tests."""

from __future__ import annotations

import re
from urllib.parse import urlencode

from django.test import Client
from django_otp.oath import totp

from portal.twofactor.views import PENDING_KEY
from tests.factories import PASSWORD

SETUP = "/accounts/two-factor/setup/"
BACKUP_CODES = "/accounts/two-factor/backup-codes/"
VERIFY = "/accounts/two-factor/"
ADMIN = "/admin/"


def to(page: str, next_url: str) -> str:
    return f"{page}?{urlencode({'next': next_url})}"


def password_client(user, **extra) -> Client:
    """Signed in with the password, through the admin's login page."""
    client = Client(**extra)
    response = client.post("/admin/login/", {"username": user.email, "password": PASSWORD})
    assert response.status_code == 302, response.content.decode()
    return client


def code_for(key_hex: str) -> str:
    """What the app shows now for this key (time-machine moves `time.time()` too)."""
    return f"{totp(bytes.fromhex(key_hex)):06d}"


def enrol(client: Client) -> tuple[str, list[str]]:
    """Enrol from the setup page, and save the backup codes: the key it set up, the codes."""
    assert client.get(SETUP).status_code == 200
    key = client.session[PENDING_KEY]
    response = client.post(SETUP, {"code": code_for(key), "next": ADMIN})
    assert response["Location"] == to(BACKUP_CODES, ADMIN)
    codes = backup_codes_in(client.get(response["Location"]))
    assert client.post(BACKUP_CODES, {"next": ADMIN})["Location"] == ADMIN
    return key, codes


def backup_codes_in(response) -> list[str]:
    return re.findall(r"<li><code>([a-z2-7]{8})</code></li>", response.content.decode())


def verify(client: Client, code: str, next_url: str = ADMIN):
    return client.post(VERIFY, {"code": code, "next": next_url})
