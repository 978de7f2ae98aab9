"""Each person's time zone: the request's zone, and the zones a person may choose.

Every time shown goes through `portal.timefmt`, which reads Django's current time zone;
the middleware makes that the signed-in person's own (`User.shown_zone`) for the whole
request, the admin's own date rendering included. Emails set the recipient's the same
way (`cases.outbox.emails.build_email`).
"""

from __future__ import annotations

from functools import cache
from zoneinfo import available_timezones

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

# Offered first: the zones most of the portal's customers and engineers work in.
COMMON_ZONES = (
    "UTC",
    "Europe/London",
    "Europe/Paris",
    "Europe/Berlin",
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
    "America/Sao_Paulo",
    "Asia/Kolkata",
    "Asia/Singapore",
    "Asia/Tokyo",
    "Australia/Sydney",
)
# The regions of the IANA database's canonical names; the rest are old aliases
# ("US/Eastern", "EST5EDT") that name the same clocks.
REGIONS = (
    "Africa",
    "America",
    "Antarctica",
    "Asia",
    "Atlantic",
    "Australia",
    "Europe",
    "Indian",
    "Pacific",
)


def zone_label(name: str) -> str:
    return name.replace("_", " ")


@cache
def zone_choices() -> tuple:
    """Grouped choices for a `<select>`: the common zones, then every zone by region.

    Each zone is listed once: a value offered twice would be selected twice.
    """
    names = available_timezones()
    common = [name for name in COMMON_ZONES if name == "UTC" or name in names]
    groups = [("Common", [(name, zone_label(name)) for name in common])]
    for region in REGIONS:
        zones = sorted(
            name for name in names if name.startswith(f"{region}/") and name not in common
        )
        groups.append((region, [(name, zone_label(name)) for name in zones]))
    return tuple(groups)


def offered_zones() -> frozenset[str]:
    return frozenset(name for _, zones in zone_choices() for name, _ in zones)


class UserTimeZoneMiddleware:
    """Show every time of the request in the signed-in person's zone.

    After AuthenticationMiddleware. The user comes with their membership and its
    organisation (`portal.backends.PortalBackend`), so finding the zone costs no query.
    The zone is set once for the request and reset after it, whatever happens; a
    visitor gets the portal's, never the zone a previous request of the thread left.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        signed_in = user is not None and user.is_authenticated
        with timezone.override(user.shown_zone if signed_in else None):
            return self.get_response(request)
