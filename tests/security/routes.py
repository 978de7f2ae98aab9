"""Every URL pattern of the site, read from the resolver, made into concrete paths.

The sweeps iterate over what `portal.urls` serves now, so a page added later is swept
without anyone remembering to list it. A parameter nobody taught `concrete_path` fails
the sweep loudly instead of skipping the page.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver

PORTAL_NAMESPACES = {"cases", "help"}
# The portal's own pages outside those namespaces: the profile and the one-click
# unsubscribe link of optional emails.
PORTAL_ROUTE_NAMES = {"profile", "unsubscribe"}
# Provider webhooks authenticate with their own shared secret, not a CSRF token.
CSRF_EXEMPT_NAMESPACES = {"anymail"}
# A signed link whose token is the credential: a mail client's one-click unsubscribe
# (RFC 8058) POSTs with no session and no CSRF token. A forged token changes nothing.
CSRF_EXEMPT_ROUTES = {"unsubscribe"}

# Paths a regex pattern serves, spelled out; an unlisted regex webhook fails the sweep.
WEBHOOK_REGEX_PATHS = {
    "anymail/^mailgun/inbound(_mime)?/$": [
        "/anymail/mailgun/inbound/",
        "/anymail/mailgun/inbound_mime/",
    ],
}

PLACEHOLDER = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>")


@dataclass(frozen=True)
class Route:
    name: str | None
    namespace: str | None
    pattern: str
    callback: object

    @property
    def parameters(self) -> list[str]:
        return [m["name"] for m in PLACEHOLDER.finditer(self.pattern)]

    @property
    def is_regex(self) -> bool:
        return "^" in self.pattern or "(?P<" in self.pattern or self.pattern.endswith("$")

    def __str__(self) -> str:
        return f"{self.namespace}:{self.name}" if self.namespace else str(self.name)


def all_routes() -> list[Route]:
    def walk(patterns, prefix: str, namespace: str | None):
        for entry in patterns:
            if isinstance(entry, URLResolver):
                inner = entry.namespace or namespace
                yield from walk(entry.url_patterns, prefix + str(entry.pattern), inner)
            elif isinstance(entry, URLPattern):
                yield Route(entry.name, namespace, prefix + str(entry.pattern), entry.callback)

    return list(walk(get_resolver().url_patterns, "", None))


def portal_routes() -> list[Route]:
    return [
        route
        for route in all_routes()
        if route.namespace in PORTAL_NAMESPACES
        or (route.namespace is None and route.name in PORTAL_ROUTE_NAMES)
    ]


def concrete_path(route: Route, values: dict[str, object]) -> str | None:
    """`route.pattern` with each parameter replaced; None for regex catch-alls."""
    if route.is_regex:
        return None
    missing = [name for name in route.parameters if name not in values]
    if missing:
        raise AssertionError(f"The sweep has no value for {missing} in {route} ({route.pattern})")
    return "/" + PLACEHOLDER.sub(lambda m: str(values[m["name"]]), route.pattern)


def webhook_paths() -> list[str]:
    """Every path served under the provider webhooks' namespace, once each."""
    paths: list[str] = []
    for route in all_routes():
        if route.namespace not in CSRF_EXEMPT_NAMESPACES:
            continue
        if route.is_regex:
            if route.pattern not in WEBHOOK_REGEX_PATHS:
                raise AssertionError(f"The sweep has no example paths for {route.pattern}")
            paths.extend(WEBHOOK_REGEX_PATHS[route.pattern])
        else:
            paths.append(concrete_path(route, {}))
    return list(dict.fromkeys(paths))
