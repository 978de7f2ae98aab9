"""Turn an emailed reply into what the customer actually wrote.

Mail clients append the whole conversation and a signature to every reply; the thread
already has the conversation, so only the new text is kept. The rules are deliberately
conservative: when in doubt a line is kept, because losing a customer's words is worse
than showing a stray quote.
"""

from __future__ import annotations

import html
import re

# "On Tue, 3 Mar 2026 at 10:00, Support <support@example.com> wrote:" and its
# translations; mail clients may wrap it over two lines, so it is matched on a window.
REPLY_HEADER = re.compile(
    r"^\s*(?:"
    r"On\b.{0,200}\bwrote:"
    r"|Le\b.{0,200}\ba écrit\s?:"
    r"|Am\b.{0,200}\bschrieb.{0,80}:"
    r"|El\b.{0,200}\bescribió:"
    r"|Op\b.{0,200}\bschreef.{0,80}:"
    r"|Il\b.{0,200}\bha scritto:"
    r")\s*$",
    re.IGNORECASE | re.DOTALL,
)
# Outlook and friends: a separator line, or a "From:" block quoting the original.
ORIGINAL_MESSAGE = re.compile(
    r"^\s*(?:-{2,}\s*(?:Original Message|Ursprüngliche Nachricht|Message d'origine)\s*-{2,}"
    r"|_{20,})\s*$",
    re.IGNORECASE,
)
HEADER_BLOCK_START = re.compile(r"^\s*\*?(?:From|De|Von|Van|Da)\s?:\*?\s+\S", re.IGNORECASE)
HEADER_BLOCK_NEXT = re.compile(
    r"^\s*\*?(?:Sent|Date|To|Subject|Envoyé|Gesendet|Verzonden|Inviato|Cc)\s?:", re.IGNORECASE
)
# RFC 3676 signature separator ("-- "), and the one-line signatures of mobile clients.
SIGNATURE_SEPARATOR = re.compile(r"^-- ?$")
MOBILE_SIGNATURE = re.compile(
    r"^\s*(?:Sent from my \w[\w ]{0,40}|Sent from (?:Mail|Outlook) for \w+"
    r"|Get Outlook for \w+|Sent from Yahoo Mail.*|Envoyé de mon \w+|Von meinem \w+ gesendet)\s*$",
    re.IGNORECASE,
)
QUOTED = re.compile(r"^\s*>")


def _is_reply_header(text: str) -> bool:
    # A date is always part of a real header: "On Monday the job wrote:" stays.
    return bool(REPLY_HEADER.match(text) and re.search(r"\d", text) and "," in text)


def _cut_index(lines: list[str]) -> int:
    """Index of the first line that belongs to the quoted conversation or the signature."""
    for index, line in enumerate(lines):
        if SIGNATURE_SEPARATOR.match(line) or ORIGINAL_MESSAGE.match(line):
            return index
        if _is_reply_header(line):
            return index
        # A reply header wrapped over two (or three) lines.
        for span in (2, 3):
            window = " ".join(part.strip() for part in lines[index : index + span])
            if line.strip() and window.rstrip().endswith(":") and _is_reply_header(window):
                return index
        if HEADER_BLOCK_START.match(line) and any(
            HEADER_BLOCK_NEXT.match(following) for following in lines[index + 1 : index + 4]
        ):
            return index
        if MOBILE_SIGNATURE.match(line):
            return index
    return len(lines)


def trim_reply(text: str) -> str:
    """The new text of an emailed reply: no quoted history, no signature."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    lines = lines[: _cut_index(lines)]
    lines = [line.rstrip() for line in lines if not QUOTED.match(line)]
    trimmed = "\n".join(lines)
    # Blank lines left where quotes were removed.
    trimmed = re.sub(r"\n{3,}", "\n\n", trimmed)
    return trimmed.strip()


_QUOTE_BLOCKS = re.compile(
    r"<blockquote\b.*?</blockquote>"
    r"|<div[^>]*\bclass=\"[^\"]*\b(?:gmail_quote|gmail_signature|moz-cite-prefix)\b.*",
    re.IGNORECASE | re.DOTALL,
)
_LINE_BREAKS = re.compile(r"<\s*(?:br|/p|/div|/li|/h\d|/tr)\b[^>]*>", re.IGNORECASE)
_TAGS = re.compile(r"<[^>]+>")
_INVISIBLE = re.compile(r"<(script|style|head)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)


def html_to_text(markup: str) -> str:
    """Plain text from an HTML-only email, quoted blocks dropped."""
    markup = _INVISIBLE.sub("", markup)
    markup = _QUOTE_BLOCKS.sub("", markup)
    markup = _LINE_BREAKS.sub("\n", markup)
    text = html.unescape(_TAGS.sub("", markup)).replace("\xa0", " ")
    return "\n".join(line.strip() for line in text.split("\n"))
