"""The enrolment and verification pages, in each state, are valid HTML (W3C Nu HTML
Checker, as tests/test_valid_html.py) and draw nothing the CSP would block."""

import re
from datetime import timedelta

import pytest
from django.conf import settings

from portal.twofactor.models import SecondFactorLockout
from portal.twofactor.views import PENDING_KEY
from tests.test_valid_html import vnu_errors
from tests.twofactor.steps import (
    BACKUP_CODES,
    SETUP,
    VERIFY,
    code_for,
    enrol,
    password_client,
    verify,
)

pytestmark = pytest.mark.django_db


def two_factor_pages(engineer, start) -> dict[str, str]:
    pages = {}
    client = password_client(engineer)
    pages["setup"] = client.get(SETUP).content.decode()
    pages["setup, wrong code"] = client.post(SETUP, {"code": "000000"}).content.decode()
    pages["setup, not a code"] = client.post(SETUP, {"code": "abc"}).content.decode()
    key = client.session[PENDING_KEY]
    client.post(SETUP, {"code": code_for(key)})
    pages["backup codes"] = client.get(BACKUP_CODES).content.decode()
    client.post(BACKUP_CODES)
    start.shift(60)
    pages["setup, new phone"] = client.get(SETUP).content.decode()

    other = password_client(engineer)
    pages["verify"] = other.get(VERIFY).content.decode()
    pages["verify, wrong code"] = verify(other, "111111").content.decode()
    pages["verify, slow down"] = verify(other, "222222").content.decode()
    SecondFactorLockout.objects.filter(user=engineer).update(
        failures=settings.AXES_FAILURE_LIMIT,
        locked_until="2026-04-01 10:16:00Z",
    )
    pages["verify, locked"] = verify(other, code_for(key)).content.decode()
    return pages


def test_the_pages_are_valid_html(engineer, start, tmp_path):
    pages = two_factor_pages(engineer, start)
    paths = []
    for number, (name, html) in enumerate(pages.items()):
        path = tmp_path / f"{number:02d}-{re.sub(r'[^a-z]+', '-', name)}.html"
        path.write_text(html, encoding="utf-8")
        paths.append(path)

    errors = vnu_errors(paths)

    assert errors == [], errors


def test_the_pages_need_no_inline_style_or_script(engineer, start):
    for name, html in two_factor_pages(engineer, start).items():
        assert " style=" not in html, name
        assert "<style" not in html, name
        scripts = re.findall(r"<script\b[^>]*>", html)
        assert all("src=" in tag or "nonce=" in tag for tag in scripts), (name, scripts)


def test_the_states_say_what_happened(engineer, start):
    pages = two_factor_pages(engineer, start)

    assert "That code is not right" in pages["setup, wrong code"]
    assert "6-digit code" in pages["setup, not a code"]
    assert "I have saved them" in pages["backup codes"]
    assert "Once it is confirmed, the old app" in pages["setup, new phone"]
    assert "wait 1 s, then try again" in pages["verify, slow down"]
    assert "refused for the next" in pages["verify, locked"]


def test_the_lock_message_counts_the_minutes_left(engineer, start):
    enrol(password_client(engineer))
    client = password_client(engineer)
    SecondFactorLockout.objects.update_or_create(
        user=engineer,
        defaults={"failures": 5, "locked_until": "2026-04-01 10:01:30Z"},
    )

    assert "for the next 2 minutes" in client.get(VERIFY).content.decode()
    start.shift(timedelta(seconds=40))
    assert "for the next 1 minute." in client.get(VERIFY).content.decode()
