"""An engineer with neither their phone nor a backup code: another superuser removes
their devices in the admin, or an operator runs `manage.py reset_2fa <email>`. Either
way the engineer enrols a new app at their next sign-in."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal.twofactor.models import SecondFactorLockout
from tests.factories import EngineerFactory
from tests.twofactor.steps import (
    ADMIN,
    SETUP,
    VERIFY,
    code_for,
    enrol,
    password_client,
    to,
    verify,
)

pytestmark = pytest.mark.django_db


def test_reset_2fa_removes_the_devices_and_the_engineer_enrols_again(engineer, start):
    enrol(password_client(engineer))
    SecondFactorLockout.objects.filter(user=engineer).update(failures=3)
    verified_elsewhere = password_client(engineer)
    verify(verified_elsewhere, code_for(TOTPDevice.objects.get().key))
    out = StringIO()

    call_command("reset_2fa", f"  {engineer.email.upper()} ", stdout=out)

    assert "Removed 2 two-factor device(s)" in out.getvalue()
    assert not TOTPDevice.objects.filter(user=engineer).exists()
    assert not StaticDevice.objects.filter(user=engineer).exists()
    assert not SecondFactorLockout.objects.filter(user=engineer).exists()
    # A session verified with a removed device is verified no longer.
    assert verified_elsewhere.get(ADMIN)["Location"] == to(SETUP, ADMIN)
    client = password_client(engineer)
    assert client.get(ADMIN)["Location"] == to(SETUP, ADMIN)
    enrol(client)
    assert client.get(ADMIN).status_code == 200


def test_reset_2fa_leaves_other_engineers_alone(engineer, start):
    colleague = EngineerFactory()
    enrol(password_client(engineer))
    enrol(password_client(colleague))

    call_command("reset_2fa", engineer.email, stdout=StringIO())

    assert TOTPDevice.objects.filter(user=colleague).exists()
    assert StaticDevice.objects.filter(user=colleague).exists()


def test_reset_2fa_of_an_unknown_address_says_so(db):
    with pytest.raises(CommandError, match="No account signs in as nobody@example.com"):
        call_command("reset_2fa", "nobody@example.com", stdout=StringIO())


def test_a_superuser_removes_a_lost_device_in_the_admin(engineer, start):
    enrol(password_client(engineer))
    superuser = EngineerFactory(is_superuser=True)
    boss = password_client(superuser)
    enrol(boss)
    device = TOTPDevice.objects.get(user=engineer)
    backup = StaticDevice.objects.get(user=engineer)

    for model, obj in [("otp_totp/totpdevice", device), ("otp_static/staticdevice", backup)]:
        url = f"/admin/{model}/{obj.pk}/delete/"
        assert boss.get(url).status_code == 200
        assert boss.post(url, {"post": "yes"}).status_code == 302

    assert not TOTPDevice.objects.filter(user=engineer).exists()
    assert not StaticDevice.objects.filter(user=engineer).exists()
    assert password_client(engineer).get(ADMIN)["Location"] == to(SETUP, ADMIN)


def test_an_engineer_who_is_no_superuser_cannot_remove_devices(engineer, start):
    enrol(password_client(engineer))
    colleague = EngineerFactory()
    client = password_client(colleague)
    enrol(client)
    device = TOTPDevice.objects.get(user=engineer)

    response = client.post(f"/admin/otp_totp/totpdevice/{device.pk}/delete/", {"post": "yes"})

    assert response.status_code == 403
    assert TOTPDevice.objects.filter(user=engineer).exists()


def test_a_lock_shows_in_the_admin_and_a_superuser_may_lift_it(engineer, start):
    enrol(password_client(engineer))
    lockout = SecondFactorLockout.objects.create(
        user=engineer, failures=5, locked_until="2026-04-01 10:15:00Z"
    )
    boss = password_client(EngineerFactory(is_superuser=True))
    enrol(boss)

    assert str(engineer) in boss.get("/admin/twofactor/secondfactorlockout/").content.decode()
    url = f"/admin/twofactor/secondfactorlockout/{lockout.pk}/delete/"
    assert boss.post(url, {"post": "yes"}).status_code == 302

    assert "Too many" not in password_client(engineer).get(VERIFY).content.decode()
