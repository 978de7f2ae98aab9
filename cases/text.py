"""One normalisation for the text people send us: typed in a form, searched, or emailed.

PostgreSQL refuses NUL in text, control characters have no business in a subject, and
bidirectional overrides (U+202E...) make `gpj.exe` read as `exe.jpg`. Single-line text
(subjects, names, search terms) also loses line breaks, so it can never inject a header
or break a list row; multi-line text (bodies, messages) keeps its lines and tabs.
"""

from __future__ import annotations

import re
import unicodedata

from django import forms

# Embedding and override controls (U+202A-202E), isolates (U+2066-2069), the marks
# U+200E/U+200F and the Arabic letter mark U+061C: invisible, and they reorder what
# the reader sees.
BIDI_CONTROLS = "\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c"
# C0 controls but tab, line feed and carriage return; DEL; C1 controls but NEL (U+0085).
_CONTROLS = re.compile(rf"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\x80-\x84\x86-\x9f{BIDI_CONTROLS}]")
_LINE_BREAKS = re.compile(r"\r\n|[\r\n\x0b\x0c\x85\u2028\u2029]")
_WHITESPACE = re.compile(r"\s+")


def clean_line(value: str) -> str:
    """Single-line text: NFC, no controls or bidi overrides, line breaks and runs of
    whitespace made one space, trimmed."""
    value = unicodedata.normalize("NFC", str(value))
    value = _LINE_BREAKS.sub(" ", value)
    value = _CONTROLS.sub("", value)
    return _WHITESPACE.sub(" ", value).strip()


def clean_text(value: str) -> str:
    """Multi-line text: NFC, line breaks made `\\n`, no controls or bidi overrides;
    spacing kept (logs and code are pasted here)."""
    value = unicodedata.normalize("NFC", str(value))
    value = _LINE_BREAKS.sub("\n", value)
    return _CONTROLS.sub("", value)


class CleanSearchMixin:
    """For a ModelAdmin: the search term (list search and autocomplete) cleaned like
    any single line, so a NUL reaches no query and a pasted line break matches."""

    def get_search_results(self, request, queryset, search_term):
        return super().get_search_results(request, queryset, clean_line(search_term))


# One bound for what a person writes: a description, a reply (web or email), a message.
MESSAGE_MAX_CHARS = 50_000


class LineField(forms.CharField):
    """Single-line user text (a subject): see `cases.text.clean_line`."""

    def to_python(self, value):
        return super().to_python(clean_line(value) if isinstance(value, str) else value)


class TextField(forms.CharField):
    """Multi-line user text (a description, a reply): see `cases.text.clean_text`."""

    def to_python(self, value):
        # Cleaned before CharField strips, so a body of controls alone counts as empty.
        return super().to_python(clean_text(value) if isinstance(value, str) else value)
