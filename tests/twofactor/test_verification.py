"""The code after the password: from the app, or a backup code that works once. Guessing
is slowed down by django-otp after each wrong code, and locked after as many wrong codes
as the password lockout allows (AXES_FAILURE_LIMIT, for AXES_COOLOFF_TIME)."""

from datetime import timedelta

import pytest
from django.conf import settings
from django_otp.plugins.otp_static.models import StaticToken

from portal.twofactor.models import SecondFactorLockout
from tests.twofactor.steps import ADMIN, VERIFY, code_for, enrol, password_client, to, verify

pytestmark = pytest.mark.django_db

# django-otp's slow-down after n wrong codes in a row: 2**(n-1) seconds (factor 1).
AFTER_ANY_SLOWDOWN = timedelta(seconds=2**settings.AXES_FAILURE_LIMIT + 1)


@pytest.fixture
def enrolled(engineer, start):
    key, codes = enrol(password_client(engineer))
    start.shift(60)  # the enrolment's own code is spent
    return key, codes


def wrong(key: str) -> str:
    return f"{(int(code_for(key)) + 500_000) % 1_000_000:06d}"


def test_the_app_code_opens_the_admin(engineer, enrolled):
    key, _ = enrolled
    client = password_client(engineer)

    response = verify(client, code_for(key))

    assert response["Location"] == ADMIN
    assert client.get(ADMIN).status_code == 200
    # Verified: the page sends on rather than asking again.
    assert client.get(to(VERIFY, "/admin/cases/case/"))["Location"] == "/admin/cases/case/"


def test_codes_are_accepted_with_spaces_and_backup_codes_in_capitals(engineer, enrolled):
    key, codes = enrolled
    code = code_for(key)

    assert verify(password_client(engineer), f" {code[:3]} {code[3:]} ")["Location"] == ADMIN
    assert verify(password_client(engineer), codes[0].upper())["Location"] == ADMIN


def test_a_backup_code_works_once(engineer, enrolled):
    _, codes = enrolled
    first = password_client(engineer)

    assert verify(first, codes[3])["Location"] == ADMIN
    assert first.get(ADMIN).status_code == 200

    second = password_client(engineer)
    response = verify(second, codes[3])
    assert response.status_code == 200
    assert "not right, or it has been used already" in response.content.decode()
    assert second.get(ADMIN)["Location"] == to(VERIFY, ADMIN)
    assert StaticToken.objects.filter(device__user=engineer).count() == 9


def test_a_wrong_code_is_refused(engineer, enrolled):
    key, _ = enrolled
    client = password_client(engineer)

    response = verify(client, wrong(key))

    assert response.status_code == 200
    assert "not right" in response.content.decode()
    assert client.get(ADMIN)["Location"] == to(VERIFY, ADMIN)


def test_an_app_code_of_one_engineer_does_not_open_another_engineers_admin(
    engineer, enrolled, start
):
    from tests.factories import EngineerFactory

    key, _ = enrolled
    colleague = EngineerFactory()
    enrol(password_client(colleague))
    start.shift(60)
    client = password_client(colleague)

    response = verify(client, code_for(key))

    assert "not right" in response.content.decode()


def test_django_otp_slows_guessing_down_after_a_wrong_code(engineer, enrolled, start):
    key, _ = enrolled
    client = password_client(engineer)
    verify(client, wrong(key))

    # Even the right code is not tried during the slow-down (1 s after one wrong code).
    response = verify(client, code_for(key))
    assert response.status_code == 200
    assert "wait 1 s, then try again" in response.content.decode()

    start.shift(1)
    assert verify(client, code_for(key))["Location"] == ADMIN
    # Codes that were not tried are not counted towards the lock.
    assert SecondFactorLockout.objects.get(user=engineer).failures == 0


def test_the_last_allowed_wrong_code_locks_and_even_the_right_code_waits_for_the_cooloff(
    engineer, enrolled, start
):
    key, codes = enrolled
    client = password_client(engineer)
    limit = settings.AXES_FAILURE_LIMIT
    for _ in range(limit - 1):
        response = verify(client, wrong(key))
        assert response.status_code == 200
        start.shift(AFTER_ANY_SLOWDOWN)

    response = verify(client, wrong(key))
    assert response.status_code == 429
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    assert f"refused for the next {minutes} minutes" in response.content.decode()

    start.shift(AFTER_ANY_SLOWDOWN)
    assert verify(client, code_for(key)).status_code == 429
    assert verify(client, codes[0]).status_code == 429
    # Signing in again with the password changes nothing: the lock is the person's.
    fresh = password_client(engineer)
    assert verify(fresh, code_for(key)).status_code == 429
    assert fresh.get(VERIFY).status_code == 200
    assert "Too many wrong codes" in fresh.get(VERIFY).content.decode()
    assert fresh.get(ADMIN)["Location"] == to(VERIFY, ADMIN)
    # Refused while locked, the backup code was not spent.
    assert StaticToken.objects.filter(device__user=engineer, token=codes[0]).exists()

    # Attempts while locked do not move the end of the lock.
    start.shift(settings.AXES_COOLOFF_TIME - AFTER_ANY_SLOWDOWN + timedelta(seconds=1))
    response = verify(client, code_for(key))
    assert response["Location"] == ADMIN
    assert client.get(ADMIN).status_code == 200


def test_after_the_lock_the_count_starts_again(engineer, enrolled, start):
    key, _ = enrolled
    client = password_client(engineer)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        verify(client, wrong(key))
        start.shift(AFTER_ANY_SLOWDOWN)
    start.shift(settings.AXES_COOLOFF_TIME)

    response = verify(client, wrong(key))

    assert response.status_code == 200
    assert SecondFactorLockout.objects.get(user=engineer).failures == 1


def test_wrong_codes_spread_over_a_long_time_never_lock(engineer, enrolled, start):
    key, _ = enrolled
    client = password_client(engineer)
    for _ in range(settings.AXES_FAILURE_LIMIT * 2):
        assert verify(client, wrong(key)).status_code == 200
        start.shift(settings.AXES_COOLOFF_TIME + timedelta(seconds=1))

    assert verify(client, code_for(key))["Location"] == ADMIN


def test_a_right_code_clears_the_count(engineer, enrolled, start):
    key, _ = enrolled
    client = password_client(engineer)
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        verify(client, wrong(key))
        start.shift(AFTER_ANY_SLOWDOWN)
    verify(client, code_for(key))
    start.shift(60)

    other = password_client(engineer)
    verify(other, wrong(key))

    assert SecondFactorLockout.objects.get(user=engineer).failures == 1
    assert SecondFactorLockout.objects.get(user=engineer).locked_until is None


@pytest.mark.parametrize("typed", ["12345", "abc", "1234567", "", "zzzzzzzz9"])
def test_text_that_is_no_code_at_all_is_explained_and_not_counted(engineer, enrolled, typed):
    client = password_client(engineer)

    response = verify(client, typed)

    assert response.status_code == 200
    assert "6-digit code" in response.content.decode()
    assert not SecondFactorLockout.objects.filter(user=engineer, failures__gt=0).exists()


def test_an_engineer_without_an_app_is_sent_from_verify_to_enrol(engineer):
    client = password_client(engineer)

    assert client.get(VERIFY)["Location"] == to("/accounts/two-factor/setup/", ADMIN)
