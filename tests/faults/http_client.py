"""A person at a browser, over real HTTP, for the scenarios that start web processes.

Signs in through the login form, posts forms with the CSRF token the page gave, and
downloads files; one cookie jar for every web, as a load balancer without sticky
sessions would have it. Every request is timed and kept for the scenario's figures.
"""

from __future__ import annotations

import statistics
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from html.parser import HTMLParser

import requests


@dataclass(frozen=True)
class Sent:
    """One request and its answer."""

    web: str
    method: str
    what: str
    status: int
    seconds: float


class _FormFields(HTMLParser):
    """The hidden inputs of the form that posts to `action` (the CSRF token among them)."""

    def __init__(self, action: str):
        super().__init__()
        self.action = action
        self.inside = False
        self.found = False
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and (attrs.get("action") or "").split("?")[0] == self.action:
            self.inside = self.found = True
        elif tag == "input" and self.inside and attrs.get("type") == "hidden":
            self.fields[attrs["name"]] = attrs.get("value") or ""

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False


def form_fields(page: str, action: str) -> dict[str, str]:
    """The hidden fields of the page's form posting to `action`; fails if there is none."""
    parser = _FormFields(action)
    parser.feed(page)
    assert parser.found, f"No form posting to {action} on the page:\n{page[:2000]}"
    assert "csrfmiddlewaretoken" in parser.fields, f"The form to {action} has no CSRF token"
    return parser.fields


class Person:
    """One person's browser across the webs (`{"A": url, "B": url}`)."""

    def __init__(self, email: str, password: str, webs: dict[str, str]):
        self.email = email
        self.password = password
        self.webs = webs
        self.session = requests.Session()
        self.sent: list[Sent] = []

    def request(
        self, web: str, method: str, path: str, *, what: str, expect: int = 200, **kwargs
    ) -> requests.Response:
        started = time.monotonic()
        response = self.session.request(
            method, self.webs[web] + path, timeout=30, allow_redirects=False, **kwargs
        )
        self.sent.append(Sent(web, method, what, response.status_code, time.monotonic() - started))
        assert response.status_code == expect, (
            f"{self.email}: {method} {path} on web {web} answered {response.status_code}, "
            f"not {expect}\n{response.text[:2000]}"
        )
        return response

    def get(self, web: str, path: str, *, what: str, expect: int = 200) -> requests.Response:
        return self.request(web, "GET", path, what=what, expect=expect)

    def submit(
        self,
        web: str,
        page: requests.Response,
        action: str,
        *,
        what: str,
        data: dict[str, str],
        files: dict | None = None,
        expect: int = 302,
    ) -> requests.Response:
        """Post the page's form to `action` with its hidden fields (CSRF token) and `data`."""
        fields = {**form_fields(page.text, action), **data}
        return self.request(
            web, "POST", action, what=what, expect=expect, data=fields, files=files
        )

    def sign_in(self, web: str, login_path: str) -> requests.Response:
        """Through the login form; answers the page it sends the person to."""
        page = self.get(web, login_path, what="sign-in page")
        response = self.submit(
            web,
            page,
            login_path,
            what="sign in",
            data={"username": self.email, "password": self.password},
        )
        return self.get(web, response.headers["Location"], what="page after sign-in")


def figures(sent: Iterable[Sent]) -> dict:
    """Counts by web and by kind, and the time requests took (ms), for a summary line."""
    sent = list(sent)
    millis = sorted(s.seconds * 1000 for s in sent)
    quantiles = statistics.quantiles(millis, n=20) if len(millis) > 1 else millis * 19
    return {
        "requests": len(sent),
        "by_web": dict(sorted(Counter(s.web for s in sent).items())),
        "by_what": dict(Counter(s.what for s in sent).most_common()),
        "posts": sum(s.method == "POST" for s in sent),
        "median_ms": round(statistics.median(millis)) if millis else 0,
        "p95_ms": round(quantiles[18]) if millis else 0,
        "max_ms": round(millis[-1]) if millis else 0,
        "slowest": [
            f"{s.what} on {s.web}: {round(s.seconds * 1000)} ms"
            for s in sorted(sent, key=lambda s: s.seconds)[-3:][::-1]
        ],
    }
