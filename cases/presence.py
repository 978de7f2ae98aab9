"""Who else has a case page open: a heartbeat per engineer and case, kept in the cache.

Each engineer's beat is its own key, so two engineers never overwrite each other's
entry; a per-case index lists who beat recently. The index is read, changed and written
back without a lock (Django's cache has no atomic set), so two engineers arriving in the
same instant may drop one another from it: the next beat, seconds later, puts them back.

The cache is Redis in production and a file cache under var/ otherwise, both shared by
every process of the machine (a per-process memory cache would show nobody).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.cache import cache
from django.utils import timezone

# The page beats every BEAT_SECONDS; an engineer is gone after missing about two beats.
BEAT_SECONDS = 5
TTL_SECONDS = 15


@dataclass(frozen=True)
class Presence:
    user_id: int
    name: str
    typing: bool


def _index_key(case_id: int) -> str:
    return f"presence:case:{case_id}"


def _entry_key(case_id: int, user_id: int) -> str:
    return f"presence:case:{case_id}:user:{user_id}"


def beat(case_id: int, user, *, typing: bool) -> list[Presence]:
    """Record that `user` has the case open (and whether they are typing); return the
    others who do, by name."""
    now = timezone.now().timestamp()
    entry = {"name": user.full_name or user.email, "typing": typing, "seen_at": now}
    cache.set(_entry_key(case_id, user.pk), entry, TTL_SECONDS)
    ids = cache.get(_index_key(case_id)) or []
    present = _present(case_id, ids, now)
    ids = sorted({*present, user.pk})
    cache.set(_index_key(case_id), ids, TTL_SECONDS)
    return sorted(
        (
            Presence(user_id, present[user_id]["name"], present[user_id]["typing"])
            for user_id in present
            if user_id != user.pk
        ),
        key=lambda presence: (not presence.typing, presence.name),
    )


def leave(case_id: int, user) -> None:
    """The engineer closed the page: gone at once, not after the TTL."""
    cache.delete(_entry_key(case_id, user.pk))


def _present(case_id: int, ids: list[int], now: float) -> dict[int, dict]:
    entries = cache.get_many([_entry_key(case_id, user_id) for user_id in ids])
    present = {}
    for user_id in ids:
        entry = entries.get(_entry_key(case_id, user_id))
        # The cache's own expiry is approximate on some backends; the time is not.
        if entry and now - entry["seen_at"] <= TTL_SECONDS:
            present[user_id] = entry
    return present
