"""The admin shows times as the portal does (24-hour clock, with the zone)."""

from portal.timefmt import DATE_FORMAT, DATETIME_FORMAT  # noqa: F401

SHORT_DATETIME_FORMAT = DATETIME_FORMAT
