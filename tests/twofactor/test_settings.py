"""Production asks staff for a second factor; `make run` (DEBUG on) does not; a
production that relaxes it on purpose is warned by `check --deploy`. Each case reads the
settings in a fresh process, as tests/test_settings.py does."""

import pytest
from django.conf import settings

from tests.test_settings import manage, production_env

READ = "from django.conf import settings as s; print(s.ADMIN_REQUIRE_2FA)"


def required(env: dict[str, str], tmp_path) -> str:
    result = manage("shell", "--no-imports", "-c", READ, env=env, var_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_production_requires_it(tmp_path):
    assert required(production_env(), tmp_path) == "True"


def test_make_run_does_not(tmp_path):
    assert required({"DEBUG": "true"}, tmp_path) == "False"


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({**production_env(), "ADMIN_REQUIRE_2FA": "false"}, "False"),
        ({"DEBUG": "true", "ADMIN_REQUIRE_2FA": "true"}, "True"),
    ],
    ids=["relaxed-in-production", "required-locally"],
)
def test_the_environment_may_say_otherwise(tmp_path, env, expected):
    assert required(env, tmp_path) == expected


def test_check_deploy_warns_when_production_relaxes_it(tmp_path):
    env = {**production_env(), "ADMIN_REQUIRE_2FA": "false"}

    result = manage("check", "--deploy", env=env, var_dir=tmp_path)

    assert "twofactor.W001" in result.stderr + result.stdout
    assert "staff reach the admin with a password alone" in result.stderr + result.stdout


def test_the_middleware_follows_authentication_and_django_otp():
    order = settings.MIDDLEWARE
    auth = order.index("django.contrib.auth.middleware.AuthenticationMiddleware")
    otp = order.index("django_otp.middleware.OTPMiddleware")
    gate = order.index("portal.twofactor.middleware.AdminSecondFactorMiddleware")
    assert auth < otp < gate
