"""An engineer enrols an authenticator app in Chromium, from the QR code page's key, and
later signs in with a backup code; the pages are accessible, fit a phone and break no
Content Security Policy (the QR code is inline SVG)."""

import base64

import pytest
from django_otp.oath import totp

from tests.browser.test_accessibility import page_problems
from tests.factories import PASSWORD, EngineerFactory


@pytest.fixture(autouse=True)
def _second_factor_required(settings):
    settings.ADMIN_REQUIRE_2FA = True


def password_sign_in(page, live_url: str, email: str) -> None:
    page.goto(f"{live_url}/admin/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def app_code(secret_text: str) -> str:
    secret = secret_text.replace(" ", "")
    return f"{totp(base64.b32decode(secret + '=' * (-len(secret) % 8))):06d}"


def test_an_engineer_enrols_then_signs_in_with_a_backup_code(page, live_url):
    engineer = EngineerFactory()
    csp_errors, problems = [], []
    page.on("console", lambda m: "Content Security Policy" in m.text and csp_errors.append(m))

    password_sign_in(page, live_url, engineer.email)
    page.wait_for_url(f"{live_url}/accounts/two-factor/setup/**")
    qr = page.get_by_role("img", name="QR code to scan with your authenticator app")
    assert qr.bounding_box()["width"] >= 150
    problems += page_problems(page, "setup")
    page.get_by_label("Code from the app").fill("000000")
    page.get_by_role("button", name="Confirm").click()
    assert page.get_by_text("That code is not right").is_visible()
    problems += page_problems(page, "setup, wrong code")

    page.get_by_label("Code from the app").fill(app_code(page.locator("code").inner_text()))
    page.get_by_role("button", name="Confirm").click()
    codes = page.locator(".twofactor-backup-codes code").all_inner_texts()
    assert len(codes) == 10
    problems += page_problems(page, "backup codes")
    page.get_by_role("button", name="I have saved them, continue").click()
    page.wait_for_url(f"{live_url}/admin/")
    assert page.get_by_role("heading", name="Site administration").is_visible()

    page.context.clear_cookies()
    password_sign_in(page, live_url, engineer.email)
    page.wait_for_url(f"{live_url}/accounts/two-factor/?next=**")
    problems += page_problems(page, "verify")
    page.get_by_label("Code").fill(codes[0].upper())
    page.get_by_role("button", name="Verify").click()
    page.wait_for_url(f"{live_url}/admin/")

    assert problems == []
    assert csp_errors == []
