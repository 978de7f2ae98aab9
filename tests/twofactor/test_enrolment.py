"""Enrolling an authenticator app: a QR code and the secret as text, the first code to
confirm it, then ten backup codes shown once. The secret is shown nowhere else."""

import re

import pytest
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal.twofactor import services
from portal.twofactor.views import PENDING_KEY
from tests.factories import EngineerFactory
from tests.twofactor.steps import (
    ADMIN,
    BACKUP_CODES,
    SETUP,
    VERIFY,
    backup_codes_in,
    code_for,
    enrol,
    password_client,
    to,
    verify,
)

pytestmark = pytest.mark.django_db


def test_the_setup_page_shows_a_qr_code_inline_and_the_secret_as_text(engineer):
    client = password_client(engineer)

    response = client.get(to(SETUP, ADMIN))

    html = response.content.decode()
    key = client.session[PENDING_KEY]
    assert response.status_code == 200
    # Drawn in the page: no image request, nothing the Content-Security-Policy must allow.
    assert re.search(r'<svg [^>]*class="twofactor-qr"[^>]*role="img"', html)
    assert "style=" not in html.split('class="twofactor-qr"', 1)[1].split("</svg>", 1)[0]
    assert services.secret_text(key) in html
    assert len(services.secret_text(key).replace(" ", "")) == 32
    # Nothing is stored until the first code confirms the app.
    assert not TOTPDevice.objects.exists()
    assert not StaticDevice.objects.exists()


def test_reloading_the_setup_page_keeps_the_same_secret(engineer):
    client = password_client(engineer)
    client.get(SETUP)
    key = client.session[PENDING_KEY]

    response = client.get(SETUP)

    assert client.session[PENDING_KEY] == key
    assert services.secret_text(key) in response.content.decode()


def test_the_qr_code_carries_the_secret_for_this_account(engineer):
    client = password_client(engineer)
    client.get(SETUP)
    key = client.session[PENDING_KEY]

    url = services.config_url(engineer, key)

    secret = services.secret_text(key).replace(" ", "")
    assert url.startswith("otpauth://totp/Support%20Portal%3A")
    assert f"secret={secret}" in url
    assert "issuer=Support%20Portal" in url


def test_a_wrong_first_code_enrols_nothing(engineer, start):
    client = password_client(engineer)
    client.get(SETUP)
    key = client.session[PENDING_KEY]
    wrong = f"{(int(code_for(key)) + 1) % 1_000_000:06d}"

    response = client.post(SETUP, {"code": wrong, "next": ADMIN})

    assert response.status_code == 200
    assert "That code is not right" in response.content.decode()
    assert services.secret_text(key) in response.content.decode()  # the same app, try again
    assert not TOTPDevice.objects.exists()
    assert not StaticDevice.objects.exists()
    assert client.get(ADMIN)["Location"] == to(SETUP, ADMIN)


@pytest.mark.parametrize("typed", ["12345", "1234567", "abcdef", ""])
def test_a_code_of_the_wrong_shape_is_explained(engineer, typed):
    client = password_client(engineer)
    client.get(SETUP)

    response = client.post(SETUP, {"code": typed})

    assert response.status_code == 200
    assert "6-digit code" in response.content.decode()
    assert not TOTPDevice.objects.exists()


def test_the_right_first_code_enrols_the_app_and_opens_the_admin(engineer, start):
    client = password_client(engineer)
    client.get(SETUP)
    key = client.session[PENDING_KEY]

    response = client.post(SETUP, {"code": code_for(key), "next": "/admin/cases/case/"})

    assert response["Location"] == to(BACKUP_CODES, "/admin/cases/case/")
    device = TOTPDevice.objects.get(user=engineer)
    assert device.confirmed and device.key == key
    # The secret has done its job: it leaves the session and is never shown again.
    assert PENDING_KEY not in client.session
    assert client.get("/admin/cases/case/").status_code == 200


def test_ten_backup_codes_are_shown_until_the_engineer_has_saved_them_then_never(engineer, start):
    client = password_client(engineer)
    client.get(SETUP)
    key = client.session[PENDING_KEY]
    client.post(SETUP, {"code": code_for(key), "next": "/admin/cases/case/"})

    page = client.get(to(BACKUP_CODES, "/admin/cases/case/"))
    codes = backup_codes_in(page)
    html = page.content.decode()
    assert len(codes) == len(set(codes)) == 10
    stored = StaticToken.objects.filter(device__user=engineer).values_list("token", flat=True)
    assert sorted(stored) == sorted(codes)
    assert "I have saved them, continue" in html
    assert services.secret_text(key) not in html
    # A reload shows them again, until the engineer says they are saved.
    assert backup_codes_in(client.get(BACKUP_CODES)) == codes

    saved = client.post(BACKUP_CODES, {"next": "/admin/cases/case/"})

    assert saved["Location"] == "/admin/cases/case/"
    assert client.get(BACKUP_CODES)["Location"] == ADMIN
    for page in (SETUP, BACKUP_CODES, ADMIN, "/admin/otp_static/staticdevice/"):
        html = client.get(page, follow=True).content.decode()
        assert not [code for code in codes if code in html], page


def test_a_double_submit_enrols_once_and_shows_the_codes_of_that_enrolment(engineer, start):
    client = password_client(engineer)
    client.get(SETUP)
    code = code_for(client.session[PENDING_KEY])

    first = client.post(SETUP, {"code": code, "next": ADMIN})
    second = client.post(SETUP, {"code": code, "next": ADMIN})

    assert first["Location"] == second["Location"] == to(BACKUP_CODES, ADMIN)
    assert TOTPDevice.objects.filter(user=engineer).count() == 1
    shown = backup_codes_in(client.get(second["Location"]))
    stored = StaticToken.objects.filter(device__user=engineer).values_list("token", flat=True)
    assert sorted(shown) == sorted(stored)


def test_the_backup_codes_page_shows_nothing_to_a_session_that_has_no_new_codes(engineer):
    client = password_client(engineer)

    assert client.get(BACKUP_CODES)["Location"] == ADMIN
    assert client.post(BACKUP_CODES)["Location"] == ADMIN


def test_the_enrolment_code_cannot_verify_again(engineer, start):
    client = password_client(engineer)
    client.get(SETUP)
    key = client.session[PENDING_KEY]
    client.post(SETUP, {"code": code_for(key)})

    other = password_client(engineer)
    response = verify(other, code_for(key))

    assert response.status_code == 200
    assert "not right" in response.content.decode()


def test_after_enrolment_a_password_alone_cannot_enrol_another_app(engineer, start):
    enrol(password_client(engineer))
    attacker = password_client(engineer)

    response = attacker.get(SETUP)

    assert response["Location"] == to(VERIFY, ADMIN)
    assert PENDING_KEY not in attacker.session
    assert TOTPDevice.objects.filter(user=engineer).count() == 1


def test_an_unverified_session_cannot_replace_the_app_even_with_a_pending_secret(engineer, start):
    """A secret left in a session from before another session enrolled: the second
    enrolment is refused, the first app stays."""
    slow = password_client(engineer)
    slow.get(SETUP)
    slow_key = slow.session[PENDING_KEY]
    first_key, _ = enrol(password_client(engineer))

    response = slow.post(SETUP, {"code": code_for(slow_key)})

    assert response["Location"] == to(VERIFY, ADMIN)
    assert TOTPDevice.objects.get(user=engineer).key == first_key


def test_a_verified_session_may_enrol_a_new_phone_and_old_backup_codes_stop_working(
    engineer, start
):
    old_key, old_codes = enrol(password_client(engineer))
    start.shift(60)
    client = password_client(engineer)
    verify(client, old_codes[0])

    new_key, new_codes = enrol(client)

    assert TOTPDevice.objects.get(user=engineer).key == new_key != old_key
    start.shift(60)
    later = password_client(engineer)
    assert "not right" in verify(later, old_codes[1]).content.decode()
    assert "not right" in verify(later, code_for(old_key)).content.decode()
    start.shift(60)
    assert verify(later, new_codes[0])["Location"] == ADMIN


def test_device_pages_in_the_admin_show_neither_the_secret_nor_the_backup_codes(engineer, start):
    key, codes = enrol(password_client(engineer))
    device = TOTPDevice.objects.get(user=engineer)
    backup = StaticDevice.objects.get(user=engineer)
    superuser = EngineerFactory(is_superuser=True)
    client = password_client(superuser)
    enrol(client)
    secrets = [key, services.secret_text(key).replace(" ", ""), *codes]

    for page in [
        "/admin/otp_totp/totpdevice/",
        f"/admin/otp_totp/totpdevice/{device.pk}/change/",
        "/admin/otp_static/staticdevice/",
        f"/admin/otp_static/staticdevice/{backup.pk}/change/",
        # django-otp's own configuration and QR code pages are not served.
        f"/admin/otp_totp/totpdevice/{device.pk}/config/",
        f"/admin/otp_totp/totpdevice/{device.pk}/qrcode/",
    ]:
        response = client.get(page, follow=True)
        html = response.content.decode()
        assert response.status_code == 200, page
        assert response["Content-Type"].startswith("text/html"), page
        assert not [secret for secret in secrets if secret in html], page
    # Devices are made at enrolment only, and never edited.
    assert client.get("/admin/otp_totp/totpdevice/add/").status_code == 403
    assert client.get("/admin/otp_static/staticdevice/add/").status_code == 403
