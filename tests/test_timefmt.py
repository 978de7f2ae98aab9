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
