"""Browser tests: Playwright drives Debian's Chromium against `live_server`.

Every test here is marked `browser` and runs with real transactions (`transactional_db`).
"""

import os

import pytest

# Playwright's sync API runs an event loop in this thread; Django's ORM calls made by the
# test itself are still synchronous.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the xdist_group marks
def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)
            # One browser per xdist worker is plenty on two cores.
            item.add_marker(pytest.mark.xdist_group("browser"))


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture
def live_url(live_server):
    return live_server.url


@pytest.fixture(autouse=True)
def _browser_db(transactional_db):
    """live_server needs committed data.

    Each test flushes the database when it ends, taking the data that migrations made
    with it (the support engineers group), so it is put back for the next test.
    Permissions come back by themselves: the flush re-runs post_migrate.
    """
    from tests.factories import support_engineers_group

    support_engineers_group()


def sign_in(page, live_url: str, email: str, password: str) -> None:
    page.goto(f"{live_url}/accounts/login/")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_url}/cases/**")
