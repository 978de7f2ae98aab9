import pytest


@pytest.fixture(autouse=True)
def _second_factor_required(settings):
    """The test settings leave it off for the rest of the suite; here it is as in production."""
    settings.ADMIN_REQUIRE_2FA = True


@pytest.fixture
def start(time_machine):
    """Time stands still unless a test moves it (app codes change every 30 seconds)."""
    time_machine.move_to("2026-04-01 10:00:00Z", tick=False)
    return time_machine
