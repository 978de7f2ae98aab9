"""Counting time inside a plan's coverage: around the clock, or business hours.

Business hours are Monday to Friday, 09:00–17:00 on the wall clock of the organisation's
time zone, less the public holidays of its country (the `holidays` package). Times are
compared as instants, so a day on which the clocks change still holds eight business
hours and a target never lands in an hour that does not exist. The service-level clocks
ask two questions of it: when does a target of so much covered time, started at a
moment, fall due (`due_after`), and how much covered time passed between two moments
(`covered_between`, for the clock's pauses).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

OPENS, CLOSES = dt.time(9), dt.time(17)
WORKING_DAYS = frozenset(range(5))  # Monday to Friday
# Far enough for any target; a loop that walked further would mean a bug, not a plan.
MAX_DAYS_AHEAD = 3 * 366


@lru_cache(maxsize=256)
def _public_holidays(country: str, year: int) -> frozenset[dt.date]:
    return frozenset(holidays.country_holidays(country, years=year)) if country else frozenset()


@lru_cache(maxsize=65_536)
def _window(zone: ZoneInfo, country: str, day: dt.date) -> tuple[dt.datetime, dt.datetime] | None:
    """The business hours of `day` in `zone` as UTC instants, or None on a weekend or a
    public holiday. Kept: re-evaluating a plan's targets asks for the same few weeks of
    days in the same few zones for every case (ZoneInfo instances are shared per key)."""
    if day.weekday() not in WORKING_DAYS or day in _public_holidays(country, day.year):
        return None
    return (
        dt.datetime.combine(day, OPENS, tzinfo=zone).astimezone(dt.UTC),
        dt.datetime.combine(day, CLOSES, tzinfo=zone).astimezone(dt.UTC),
    )


@dataclass(frozen=True)
class Coverage:
    """When a clock runs: always, or in business hours in `zone` less `country`'s holidays."""

    business_hours: bool
    zone: ZoneInfo = ZoneInfo("UTC")
    country: str = ""

    def _is_working_day(self, day: dt.date) -> bool:
        return day.weekday() in WORKING_DAYS and day not in _public_holidays(
            self.country, day.year
        )

    def _windows_from(self, moment: dt.datetime):
        """The business-hours windows (start, end) from the day of `moment` on, skipping
        weekends and holidays: wall-clock hours in the zone, given as UTC instants."""
        day = moment.astimezone(self.zone).date()
        one_day = dt.timedelta(days=1)
        for _ in range(MAX_DAYS_AHEAD):
            window = _window(self.zone, self.country, day)
            if window is not None:
                yield window
            day += one_day
        raise ValueError(f"No business hours within {MAX_DAYS_AHEAD} days of {moment}")

    def due_after(self, start: dt.datetime, covered: dt.timedelta) -> dt.datetime:
        """The moment (in UTC) `covered` time inside the coverage has passed since `start`.

        Arithmetic is on UTC instants: Python adds to a zoned datetime on its wall clock,
        which across a clock change would be an hour off."""
        start = start.astimezone(dt.UTC)
        if not self.business_hours:
            return start + covered
        remaining = covered
        for opens, closes in self._windows_from(start):
            begin = max(opens, start)
            if begin >= closes:
                continue
            if remaining <= closes - begin:
                return begin + remaining
            remaining -= closes - begin
        raise AssertionError("unreachable")  # _windows_from raises first

    def covered_between(self, start: dt.datetime, end: dt.datetime) -> dt.timedelta:
        """How much time inside the coverage passed from `start` to `end`."""
        start, end = start.astimezone(dt.UTC), end.astimezone(dt.UTC)
        if end <= start:
            return dt.timedelta(0)
        if not self.business_hours:
            return end - start
        covered = dt.timedelta(0)
        for opens, closes in self._windows_from(start):
            if opens >= end:
                break
            begin, finish = max(opens, start), min(closes, end)
            if finish > begin:
                covered += finish - begin
        return covered
