"""Customer pages kept rendered until a case on them changes.

Customers look at My Cases and at their cases far more often than those cases change,
and nearly all the time of such a page goes on the reads behind it and on rendering its
rows or thread. So the main part of each page is cached:

- My Cases under a *generation* of the customer's cases (and of their organisation's,
  in the organisation view): a random token kept in the cache and dropped by
  `forget_cases()`, which the services call for every case they change. The next visit
  finds no token, makes a new one and renders afresh.
- A case page under the case's `updated_at`: every service that changes a case, its
  thread or its history saves the case.

Every key also holds the user and their CSRF secret (cached forms carry a token, and
no one else's), and a token of the running code, so that a deploy never serves markup
rendered by the code it replaced. Entries expire after `TIMEOUT` in any case, which
bounds how long a renamed engineer or colleague can show under the old name.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Iterable

from django.core.cache import cache
from django.db import transaction
from django.http import HttpRequest
from django.middleware.csrf import get_token
from django.utils.safestring import SafeString, mark_safe

TIMEOUT = 10 * 60

_CODE_TOKEN = uuid.uuid4().hex


def _generation_key(kind: str, pk: int) -> str:
    return f"cases:generation:{kind}:{pk}"


def generation(*, customer_id: int, organisation_id: int | None = None) -> str:
    """The token that changes whenever one of the customer's (or organisation's) cases does."""
    key = (
        _generation_key("organisation", organisation_id)
        if organisation_id is not None
        else _generation_key("customer", customer_id)
    )
    return cache.get_or_set(key, lambda: uuid.uuid4().hex, timeout=None) or ""


def forget_cases(cases: Iterable) -> None:
    """Make the customer pages showing these cases render afresh.

    Now, so that the rest of this transaction and this request see the change, and again
    once it commits: a page rendered from the old rows in between would otherwise be
    kept under the generation made in between.
    """
    keys = set()
    for case in cases:
        keys.add(_generation_key("customer", case.requester_id))
        if case.organisation_id is not None:
            keys.add(_generation_key("organisation", case.organisation_id))
    if not keys:
        return
    cache.delete_many(keys)
    transaction.on_commit(lambda: cache.delete_many(keys))


def page_part(request: HttpRequest, *key_parts: object, render: Callable[[], str]) -> SafeString:
    """The HTML `render()` makes, from cache when the same user saw it with the same parts."""
    get_token(request)  # the CSRF secret must exist before it goes into the key
    digest = hashlib.sha256()
    for part in (_CODE_TOKEN, request.user.pk, request.META["CSRF_COOKIE"], *key_parts):
        digest.update(f"{part}\x1f".encode())
    key = f"cases:page:{digest.hexdigest()}"
    html = cache.get(key)
    if html is None:
        html = str(render())
        cache.set(key, html, TIMEOUT)
    # Our own template output, escaped when it was rendered.
    return mark_safe(html)  # noqa: S308
