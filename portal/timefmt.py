"""How every time is shown: portal pages, emails and the admin.

One place. Times are shown in each person's own zone (`User.shown_zone`): `zone()` is
Django's current time zone, which `portal.time_zones.UserTimeZoneMiddleware` sets for a
signed-in request and `cases.outbox.emails.build_email` for an email's recipient.
Shown times carry their zone ("28 Nov 2026, 14:05 UTC"), always on the 24-hour clock;
machine-readable ones (`<time datetime>`) keep milliseconds at most, as HTML allows.
"""

from __future__ import annotations

import datetime as dt

from django.utils import dateformat, timezone

# Django date-format strings, also used for the admin (portal/formats/).
DATETIME_FORMAT = "j M Y, H:i T"
DATE_FORMAT = "j M Y"
# Emails spell the month out: a deadline read in a mail client, away from the portal.
LONG_DATETIME_FORMAT = "j F Y, H:i T"
# The portal speaks English only: month abbreviations as DATETIME_FORMAT's "M" gives them.
MONTH_ABBREVIATIONS = ("", "Jan", "Feb", "Mar", "Apr", "May", "Jun")
MONTH_ABBREVIATIONS += ("Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
MONTH_NAMES = ("", "January", "February", "March", "April", "May", "June", "July")
MONTH_NAMES += ("August", "September", "October", "November", "December")
# A time close to now (a reply promised for Tuesday) reads by its weekday: "D j M, H:i T".
NEAR_DATETIME_FORMAT = "D j M, H:i T"
WEEKDAY_ABBREVIATIONS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def zone() -> dt.tzinfo:
    """The zone times are shown in: the reader's (the signed-in person's, an email's
    recipient's), else the portal's (settings.TIME_ZONE)."""
    return timezone.get_current_timezone()


def local(moment: dt.datetime, shown_in: dt.tzinfo | None = None) -> dt.datetime:
    """`moment` in the zone times are shown in (pass `zone()` when formatting many)."""
    return timezone.localtime(moment, shown_in or zone())


def display(moment: dt.datetime | None, shown_in: dt.tzinfo | None = None) -> str:
    """`28 Nov 2026, 14:05 UTC`: DATETIME_FORMAT, spelled out.

    Lists show two times a row, and Django's format-string interpreter cost more than
    the rest of a row; tests hold this to `dateformat.format(…, DATETIME_FORMAT)`.
    """
    if not moment:
        return ""
    shown = local(moment, shown_in)
    month = MONTH_ABBREVIATIONS[shown.month]
    return f"{shown.day} {month} {shown.year}, {shown:%H:%M} {shown.tzname()}"


def display_near(moment: dt.datetime | None, shown_in: dt.tzinfo | None = None) -> str:
    """`Tue 9 Dec, 14:00 CET`: NEAR_DATETIME_FORMAT, for times within days of now (a
    promised reply); `Tue 9 Dec 2025, 14:00 CET` when the year is not this one, so that
    an old date never passes for a coming one."""
    if not moment:
        return ""
    shown = local(moment, shown_in)
    day = (
        f"{WEEKDAY_ABBREVIATIONS[shown.weekday()]} {shown.day} {MONTH_ABBREVIATIONS[shown.month]}"
    )
    if shown.year != local(timezone.now(), shown_in).year:
        day += f" {shown.year}"
    return f"{day}, {shown:%H:%M} {shown.tzname()}"


def display_long(moment: dt.datetime | None, shown_in: dt.tzinfo | None = None) -> str:
    """`28 November 2026, 14:05 UTC`: LONG_DATETIME_FORMAT, spelled out like `display`
    so that the hour a clock change repeats still names its zone (Django's `T` leaves
    it out there)."""
    if not moment:
        return ""
    shown = local(moment, shown_in)
    return f"{shown.day} {MONTH_NAMES[shown.month]} {shown.year}, {shown:%H:%M} {shown.tzname()}"


def display_date(moment: dt.datetime | None) -> str:
    """`28 Nov 2026` (the day in the shown zone)."""
    return dateformat.format(local(moment), DATE_FORMAT) if moment else ""


def iso(moment: dt.datetime | None, shown_in: dt.tzinfo | None = None) -> str:
    """For `<time datetime>`: ISO 8601 with offset, at most three fraction digits."""
    return local(moment, shown_in).isoformat(timespec="milliseconds") if moment else ""
