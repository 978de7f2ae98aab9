"""Counting time in business hours and around the clock (cases.coverage)."""

from __future__ import annotations

import datetime as dt
import random
from zoneinfo import ZoneInfo

import pytest

from cases.coverage import Coverage

PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")
UTC = dt.UTC
HOUR = dt.timedelta(hours=1)

business_paris = Coverage(business_hours=True, zone=PARIS, country="FR")
business_berlin = Coverage(business_hours=True, zone=ZoneInfo("Europe/Berlin"), country="DE")
always = Coverage(business_hours=False)


def at(zone, *parts) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=zone)


@pytest.mark.parametrize(
    ("start", "covered", "due"),
    [
        # Inside one working day.
        (at(PARIS, 2026, 12, 7, 10), 4 * HOUR, at(PARIS, 2026, 12, 7, 14)),
        # Runs over the evening into the next morning.
        (at(PARIS, 2026, 12, 7, 16), 4 * HOUR, at(PARIS, 2026, 12, 8, 12)),
        # Opened before hours: counts from 09:00.
        (at(PARIS, 2026, 12, 7, 6, 30), HOUR, at(PARIS, 2026, 12, 7, 10)),
        # Friday afternoon over the weekend.
        (at(PARIS, 2026, 12, 4, 16), 2 * HOUR, at(PARIS, 2026, 12, 7, 10)),
        # Opened on a Saturday: counts from Monday 09:00.
        (at(PARIS, 2026, 12, 5, 11), 8 * HOUR, at(PARIS, 2026, 12, 7, 17)),
        # A whole working week of hours.
        (at(PARIS, 2026, 12, 7, 9), 40 * HOUR, at(PARIS, 2026, 12, 11, 17)),
    ],
)
def test_business_hours_count_only_weekdays_from_nine_to_five(start, covered, due):
    assert business_paris.due_after(start, covered) == due


def test_public_holidays_of_the_organisations_country_do_not_count():
    # Christmas Day 2026 is a Friday; Boxing Day a Saturday. Germany keeps both, and
    # Thursday's two last hours run into Monday.
    start = at(ZoneInfo("Europe/Berlin"), 2026, 12, 24, 16)
    assert business_berlin.due_after(start, 2 * HOUR) == at(
        ZoneInfo("Europe/Berlin"), 2026, 12, 28, 10
    )
    # Without a country only weekends are skipped.
    no_holidays = Coverage(business_hours=True, zone=ZoneInfo("Europe/Berlin"))
    assert no_holidays.due_after(start, 2 * HOUR) == at(
        ZoneInfo("Europe/Berlin"), 2026, 12, 25, 10
    )
    # 14 July is France's, not Germany's.
    bastille = at(PARIS, 2026, 7, 13, 16)
    assert business_paris.due_after(bastille, 2 * HOUR) == at(PARIS, 2026, 7, 15, 10)


def test_a_weekend_with_a_clock_change_still_leaves_eight_hours_a_day():
    # Europe goes to summer time on Sunday 29 March 2026.
    friday = at(PARIS, 2026, 3, 27, 16)  # 15:00 UTC
    monday = business_paris.due_after(friday, 2 * HOUR)
    assert monday == at(PARIS, 2026, 3, 30, 10)
    assert monday.astimezone(UTC) == dt.datetime(2026, 3, 30, 8, tzinfo=UTC)
    assert business_paris.covered_between(friday, monday) == 2 * HOUR
    # New York changed three weeks earlier (Sunday 8 March).
    new_york = Coverage(business_hours=True, zone=NEW_YORK, country="US")
    assert new_york.due_after(at(NEW_YORK, 2026, 3, 6, 16), 2 * HOUR).astimezone(
        UTC
    ) == dt.datetime(2026, 3, 9, 14, tzinfo=UTC)


def test_around_the_clock_counts_every_hour_even_on_a_short_day():
    saturday_noon = at(PARIS, 2026, 3, 28, 12)
    due = always.due_after(saturday_noon, 24 * HOUR)
    # Sunday has 23 hours in Paris: 24 hours later the wall clock says 13:00.
    assert due.astimezone(PARIS) == at(PARIS, 2026, 3, 29, 13)
    assert always.covered_between(saturday_noon, due) == 24 * HOUR


def test_time_covered_between_two_moments():
    monday_four = at(PARIS, 2026, 12, 7, 16)
    assert business_paris.covered_between(monday_four, at(PARIS, 2026, 12, 8, 10)) == 2 * HOUR
    assert (
        business_paris.covered_between(at(PARIS, 2026, 12, 4, 16), at(PARIS, 2026, 12, 7, 10))
        == 2 * HOUR
    )
    # A weekend alone covers nothing, and time never runs backwards.
    assert business_paris.covered_between(
        at(PARIS, 2026, 12, 5, 9), at(PARIS, 2026, 12, 6, 18)
    ) == dt.timedelta(0)
    assert business_paris.covered_between(monday_four, monday_four - HOUR) == dt.timedelta(0)


def test_due_after_and_covered_between_agree_everywhere():
    rng = random.Random(20261203)
    zones = [PARIS, NEW_YORK, ZoneInfo("Asia/Kolkata"), ZoneInfo("Australia/Sydney")]
    for _ in range(300):
        zone = rng.choice(zones)
        coverage = Coverage(
            business_hours=rng.random() < 0.8, zone=zone, country=rng.choice(["", "US", "AU"])
        )
        start = dt.datetime(2026, 1, 1, tzinfo=UTC) + dt.timedelta(minutes=rng.randrange(525_600))
        covered = dt.timedelta(minutes=rng.randrange(1, 60 * 80))
        due = coverage.due_after(start, covered)
        assert due > start
        assert coverage.covered_between(start, due) == covered, (zone, start, covered)


@pytest.mark.django_db
def test_an_organisation_keeps_its_business_hours_in_its_zone_and_country(settings):
    from django.core.exceptions import ValidationError

    from tests.factories import OrganisationFactory

    settings.TIME_ZONE = "UTC"
    paris = OrganisationFactory(time_zone="Europe/Paris", holiday_country="FR")
    coverage = paris.coverage(business_hours=True)
    assert coverage == Coverage(business_hours=True, zone=PARIS, country="FR")
    # An organisation without a zone uses the portal's, and no holidays.
    assert OrganisationFactory().coverage(business_hours=False) == Coverage(
        business_hours=False, zone=ZoneInfo("UTC"), country=""
    )
    for field, value in [("time_zone", "Mars/Olympus"), ("holiday_country", "XX")]:
        organisation = OrganisationFactory.build(name=f"Bad {field}", **{field: value})
        with pytest.raises(ValidationError) as refused:
            organisation.full_clean()
        assert field in refused.value.message_dict
