"""portal.timefmt spells DATETIME_FORMAT out by hand for speed: it must agree with Django."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.utils import dateformat, timezone

from portal import timefmt

ZONES = ["UTC", "Europe/Paris", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe"]
MOMENTS = [
    dt.datetime(2026, 1, 1, 0, 0, tzinfo=dt.UTC),
    dt.datetime(2026, 3, 29, 0, 59, 59, tzinfo=dt.UTC),  # Paris: an hour before the change
    dt.datetime(2026, 3, 29, 1, 0, tzinfo=dt.UTC),  # Paris: summer time begins
    dt.datetime(2026, 10, 25, 0, 30, tzinfo=dt.UTC),
    dt.datetime(2026, 10, 25, 1, 30, tzinfo=dt.UTC),  # Paris: back to winter time
    dt.datetime(2026, 11, 1, 6, 30, tzinfo=dt.UTC),  # New York: the repeated hour
    dt.datetime(2026, 12, 31, 23, 59, 59, 999999, tzinfo=dt.UTC),
    dt.datetime(2027, 2, 5, 9, 5, tzinfo=dt.UTC),
]


def djangos(moment: dt.datetime, zone: ZoneInfo) -> str:
    shown = timezone.localtime(moment, zone)
    text = dateformat.format(shown, timefmt.DATETIME_FORMAT)
    # In the hour a clock change repeats, Django leaves the zone name out; the portal
    # names the zone of that moment (the datetime's fold says which of the two it is).
    if text.endswith(" "):
        text += shown.tzname()
    return text


@pytest.mark.parametrize("zone_name", ZONES)
def test_display_agrees_with_djangos_format_in_every_zone(zone_name):
    zone = ZoneInfo(zone_name)
    with timezone.override(zone):
        for moment in MOMENTS:
            assert timefmt.display(moment) == djangos(moment, zone), moment
            assert timefmt.display(moment, zone) == djangos(moment, zone), moment
    for month in range(1, 13):
        moment = dt.datetime(2026, month, 9, 12, tzinfo=dt.UTC)
        assert timefmt.display(moment, zone) == djangos(moment, zone)


def test_the_repeated_hour_of_a_clock_change_says_which_it_is():
    paris = ZoneInfo("Europe/Paris")
    first = dt.datetime(2026, 10, 25, 0, 30, tzinfo=dt.UTC)
    second = first + dt.timedelta(hours=1)
    assert timefmt.display(first, paris) == "25 Oct 2026, 02:30 CEST"
    assert timefmt.display(second, paris) == "25 Oct 2026, 02:30 CET"


def test_nothing_to_show_is_an_empty_string():
    assert timefmt.display(None) == ""
    assert timefmt.iso(None) == ""


@pytest.mark.parametrize("zone_name", ZONES)
def test_display_near_agrees_with_djangos_format_within_the_year(zone_name, time_machine):
    zone = ZoneInfo(zone_name)
    for moment in MOMENTS:
        time_machine.move_to(moment, tick=False)
        shown = timezone.localtime(moment, zone)
        expected = dateformat.format(shown, timefmt.NEAR_DATETIME_FORMAT)
        if expected.endswith(" "):  # the repeated hour, as above
            expected += shown.tzname()
        assert timefmt.display_near(moment, zone) == expected, moment
    for day in range(7, 14):  # every weekday
        moment = dt.datetime(2027, 6, day, 12, tzinfo=dt.UTC)
        shown = timezone.localtime(moment, zone)
        assert timefmt.display_near(moment, zone) == dateformat.format(
            shown, timefmt.NEAR_DATETIME_FORMAT
        )


def test_display_near_names_the_year_only_when_it_is_not_this_one(time_machine):
    paris = ZoneInfo("Europe/Paris")
    time_machine.move_to(dt.datetime(2026, 12, 31, 23, 30, tzinfo=dt.UTC), tick=False)
    # Already 2027 in Paris: the year is Paris's too.
    assert timefmt.display_near(dt.datetime(2027, 1, 4, 11, tzinfo=dt.UTC), paris) == (
        "Mon 4 Jan, 12:00 CET"
    )
    assert timefmt.display_near(dt.datetime(2026, 12, 31, 13, tzinfo=dt.UTC), paris) == (
        "Thu 31 Dec 2026, 14:00 CET"
    )
    assert timefmt.display_near(None) == ""
