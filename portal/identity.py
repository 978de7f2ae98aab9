"""One spelling per sign-in identity.

Login looks users up by it and the lockout (django-axes) counts failures under it, so no
form of an address (capitals, full-width letters, surrounding spaces) can be guessed
against separately from the others.
"""

from __future__ import annotations

import unicodedata


def login_identity(value: str) -> str:
    """NFKC, outer whitespace stripped, case folded: `" ｃOLLEAGUE@example.com\\t"` is
    `"colleague@example.com"`. Folding can leave text that NFKC still changes, hence the
    second pass (Unicode's NFKC_Casefold, closely)."""
    folded = unicodedata.normalize("NFKC", value).strip().casefold()
    return unicodedata.normalize("NFKC", folded)


def stored_email(value: str) -> str:
    """How an address is stored: NFKC, stripped and lower-cased.

    Lower-cased rather than folded: folding rewrites letters (`ß` becomes `ss`), which
    would name another mailbox. Login compares identities, so both spellings still meet.
    """
    return unicodedata.normalize("NFKC", value).strip().lower()
