"""Enrolling an authenticator app with backup codes, and checking a code against them.

Wrong codes are refused twice over: django-otp slows each device down after a wrong
code (`OTP_TOTP_THROTTLE_FACTOR`: 1, 2, 4, 8... seconds), and after AXES_FAILURE_LIMIT
wrong codes a person's codes are refused for AXES_COOLOFF_TIME, the password lockout's
own numbers, whichever session or address they come from.
"""

from __future__ import annotations

import logging
import re
import time
from base64 import b32encode
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django_otp.models import Device
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp.util import random_hex

from .models import SecondFactorLockout

logger = logging.getLogger(__name__)

BACKUP_CODE_COUNT = 10
TOTP_CODE = re.compile(r"[0-9]{6}")
# StaticToken.random_token(): five random bytes in lower-case base32.
BACKUP_CODE = re.compile(r"[a-z2-7]{8}")
APP_NAME = "Authenticator app"
BACKUP_CODES_NAME = "Backup codes"


class AlreadyEnrolled(Exception):
    """An app is enrolled and this session has not verified it: a password alone must not
    replace it."""


def is_required(user) -> bool:
    """Staff need a second factor for the admin, unless ADMIN_REQUIRE_2FA relaxes it."""
    return bool(settings.ADMIN_REQUIRE_2FA and user.is_authenticated and user.is_staff)


def is_verified(user) -> bool:
    """This session has verified a device (django_otp.middleware.OTPMiddleware)."""
    verified = getattr(user, "is_verified", None)
    return bool(verified and verified())


def is_enrolled(user) -> bool:
    return TOTPDevice.objects.devices_for_user(user, confirmed=True).exists()


def normalise_code(value: str) -> str:
    """Codes as people type them: with spaces or dashes, backup codes in capitals."""
    return re.sub(r"[\s-]+", "", value).lower()


def is_code_shaped(code: str) -> bool:
    return bool(TOTP_CODE.fullmatch(code) or BACKUP_CODE.fullmatch(code))


# --- Enrolment -------------------------------------------------------------------------


def new_key() -> str:
    """A secret as TOTPDevice makes one: 20 random bytes, hex."""
    return random_hex(20)


def secret_text(key: str) -> str:
    """The secret as an app asks for it when typed: base32, in groups of four."""
    encoded = b32encode(bytes.fromhex(key)).decode().rstrip("=")
    return " ".join(encoded[i : i + 4] for i in range(0, len(encoded), 4))


def config_url(user, key: str) -> str:
    """The `otpauth://` address the QR code carries (issuer: OTP_TOTP_ISSUER)."""
    return TOTPDevice(user=user, key=key).config_url


@dataclass(frozen=True)
class Enrolment:
    device: TOTPDevice
    backup_codes: list[str]


def enrol(user, key: str, code: str, *, may_replace: bool) -> Enrolment | None:
    """Enrol the app set up with `key`, on the first code it shows; None if it is wrong.

    Replaces the person's app and backup codes (a new phone) when `may_replace`, i.e.
    when this session has verified the old ones. The user's row is locked so that a
    double submit enrols once.
    """
    device = TOTPDevice(user=user, key=key, name=APP_NAME, confirmed=True)
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time()
    if not TOTP_CODE.fullmatch(code) or not totp.verify(int(code), device.tolerance):
        return None
    with transaction.atomic():
        # One enrolment at a time per person (SELECT ... FOR UPDATE of the user's row).
        get_user_model().objects.select_for_update().filter(pk=user.pk).exists()
        if not may_replace and is_enrolled(user):
            raise AlreadyEnrolled
        TOTPDevice.objects.filter(user=user).delete()
        StaticDevice.objects.filter(user=user).delete()
        # The code just typed cannot verify a session a second time.
        device.last_t = totp.t()
        device.save()
        backup = StaticDevice.objects.create(user=user, name=BACKUP_CODES_NAME, confirmed=True)
        codes = [StaticToken.random_token() for _ in range(BACKUP_CODE_COUNT)]
        StaticToken.objects.bulk_create(StaticToken(device=backup, token=code) for code in codes)
        SecondFactorLockout.objects.filter(user=user).delete()
    return Enrolment(device=device, backup_codes=codes)


# --- Verification ----------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    device: Device | None = None
    # Every code is refused until then (too many wrong codes).
    locked_until: datetime | None = None
    # django-otp's slow-down after a wrong code: the code was not even tried.
    retry_at: datetime | None = None

    @property
    def accepted(self) -> bool:
        return self.device is not None


def locked_until(user) -> datetime | None:
    lockout = SecondFactorLockout.objects.filter(user=user).first()
    if lockout and lockout.locked_until and timezone.now() < lockout.locked_until:
        return lockout.locked_until
    return None


def verify(user, code: str) -> Check:
    """Check a 6-digit app code or a backup code (each backup code works once)."""
    now = timezone.now()
    with transaction.atomic():
        SecondFactorLockout.objects.get_or_create(user=user)
        lockout = SecondFactorLockout.objects.select_for_update().get(user=user)
        if lockout.locked_until:
            if now < lockout.locked_until:
                # Attempts while locked do not count: the lock always ends on time.
                return Check(locked_until=lockout.locked_until)
            lockout.failures, lockout.locked_until = 0, None

        model = TOTPDevice if TOTP_CODE.fullmatch(code) else StaticDevice
        devices = model.objects.devices_for_user(user, confirmed=True).select_for_update()
        tried = False
        retry_at = None
        for device in devices:
            allowed, refusal = device.verify_is_allowed()
            if not allowed:
                retry_at = max(retry_at or now, refusal["locked_until"])
                continue
            tried = True
            if device.verify_token(code):
                lockout.failures, lockout.last_failure_at = 0, None
                lockout.save()
                return Check(device=device)

        if tried:
            _count_failure(lockout, now)
        return Check(locked_until=lockout.locked_until, retry_at=None if tried else retry_at)


def _count_failure(lockout: SecondFactorLockout, now: datetime) -> None:
    cooloff = settings.AXES_COOLOFF_TIME
    if lockout.last_failure_at and now - lockout.last_failure_at >= cooloff:
        lockout.failures = 0  # old mistakes are forgotten, as django-axes forgets them
    lockout.failures += 1
    lockout.last_failure_at = now
    if lockout.failures >= settings.AXES_FAILURE_LIMIT:
        lockout.locked_until = now + cooloff
        logger.warning(
            "Second factor of user %s locked until %s after %s wrong codes",
            lockout.user_id,
            lockout.locked_until.isoformat(),
            lockout.failures,
        )
    lockout.save()


# --- Recovery --------------------------------------------------------------------------


def reset(user) -> int:
    """Remove every device of the person (and their lockout): they enrol again at their
    next sign-in. Returns how many devices were removed."""
    with transaction.atomic():
        removed = 0
        for model in (TOTPDevice, StaticDevice):
            removed += model.objects.filter(user=user).count()
            model.objects.filter(user=user).delete()
        SecondFactorLockout.objects.filter(user=user).delete()
    return removed
