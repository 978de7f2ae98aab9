"""Someone else is here: the case page's heartbeat, kept in the cache for seconds."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from cases import presence
from tests.factories import CaseFactory, EngineerFactory, UserFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


def url(case) -> str:
    return reverse("admin:cases_case_presence", args=[case.pk])


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def beat(client, case, **fields):
    return client.post(url(case), fields)


@pytest.fixture
def case():
    return CaseFactory(open=True)


@pytest.fixture
def alex():
    return EngineerFactory(full_name="Alex Engineer")


@pytest.fixture
def erin():
    return EngineerFactory(full_name="Erin Engineer")


def test_alone_on_a_case_nobody_else_is_shown(case, erin):
    response = beat(signed_in(erin), case)

    assert response.status_code == 200
    assert response.json() == {"others": []}
    assert "no-store" in response["Cache-Control"]


def test_two_engineers_on_a_case_see_each_other_and_who_types(case, alex, erin):
    alex_client, erin_client = signed_in(alex), signed_in(erin)

    beat(alex_client, case, typing="1")
    answer = beat(erin_client, case, typing="0").json()
    assert answer == {"others": [{"name": "Alex Engineer", "typing": True}]}

    answer = beat(alex_client, case, typing="0").json()
    assert answer == {"others": [{"name": "Erin Engineer", "typing": False}]}
    # Alex stopped typing: Erin's next beat says so.
    assert beat(erin_client, case).json()["others"] == [{"name": "Alex Engineer", "typing": False}]


def test_another_case_is_another_room(alex, erin):
    first, second = CaseFactory(open=True), CaseFactory(open=True)
    beat(signed_in(alex), first)

    assert beat(signed_in(erin), second).json() == {"others": []}


def test_an_engineer_who_stops_beating_is_gone_after_the_ttl(case, alex, erin):
    alex_client, erin_client = signed_in(alex), signed_in(erin)
    with time_machine.travel(NOW, tick=False) as traveller:
        beat(alex_client, case)
        traveller.shift(dt.timedelta(seconds=presence.TTL_SECONDS - 1))
        assert len(beat(erin_client, case).json()["others"]) == 1

        traveller.shift(dt.timedelta(seconds=2))
        assert beat(erin_client, case).json() == {"others": []}


def test_an_entry_the_cache_still_holds_is_not_shown_past_the_ttl(case, alex, erin):
    # A cache whose expiry lags (or a clock that jumped): the beat's own time decides.
    with time_machine.travel(NOW, tick=False):
        beat(signed_in(alex), case)
    key = f"presence:case:{case.pk}:user:{alex.pk}"
    cache.set(key, cache.get(key), 3600)

    with time_machine.travel(NOW + dt.timedelta(seconds=presence.TTL_SECONDS + 1), tick=False):
        assert beat(signed_in(erin), case).json() == {"others": []}


def test_leaving_the_page_removes_the_engineer_at_once(case, alex, erin):
    alex_client = signed_in(alex)
    beat(alex_client, case)

    assert beat(alex_client, case, left="1").json() == {"others": []}
    assert beat(signed_in(erin), case).json() == {"others": []}


def test_the_index_does_not_lose_someone_two_arrivals_overwrote(case, alex, erin):
    alex_client, erin_client = signed_in(alex), signed_in(erin)
    beat(alex_client, case)
    # Erin arrived at the same instant and wrote an index without Alex.
    cache.set(f"presence:case:{case.pk}", [erin.pk], presence.TTL_SECONDS)
    beat(erin_client, case)

    # Alex's next beat puts Alex back; Erin sees Alex again at hers.
    assert beat(alex_client, case).json()["others"] == [{"name": "Erin Engineer", "typing": False}]
    assert beat(erin_client, case).json()["others"] == [{"name": "Alex Engineer", "typing": False}]


def test_a_beat_needs_a_csrf_token(case, erin):
    client = Client(enforce_csrf_checks=True)
    client.force_login(erin)

    assert client.post(url(case), {"typing": "1"}).status_code == 403
    assert cache.get(f"presence:case:{case.pk}") is None


def test_a_beat_is_a_post(case, erin):
    assert signed_in(erin).get(url(case)).status_code == 405


@pytest.mark.parametrize("who", ["anonymous", "customer", "staff_without_work"])
def test_only_engineers_beat_and_nobody_else_learns_who_is_there(case, alex, who):
    beat(signed_in(alex), case)
    client = Client()
    if who == "customer":
        client.force_login(case.requester)
    elif who == "staff_without_work":
        staff = UserFactory(is_staff=True)
        staff.user_permissions.add(Permission.objects.get(codename="view_case"))
        client.force_login(staff)

    response = beat(client, case)

    assert response.status_code == 404
    assert "Alex" not in response.content.decode()


def test_a_missing_case_is_a_404(erin):
    response = signed_in(erin).post(reverse("admin:cases_case_presence", args=[999_999]))

    assert response.status_code == 404


def test_the_case_page_carries_the_banner_for_engineers_only(client, case, erin):
    client.force_login(erin)
    page = client.get(reverse("admin:cases_case_change", args=[case.pk])).content.decode()

    assert f'data-presence-url="{url(case)}"' in page
    assert "js/admin-presence.js" in page
    assert page.index("data-presence") < page.index("wb-summary")

    staff = UserFactory(is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_case"))
    client.force_login(staff)
    page = client.get(reverse("admin:cases_case_change", args=[case.pk])).content.decode()
    assert "data-presence" not in page
