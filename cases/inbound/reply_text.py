"""Turn an emailed reply into what the customer actually wrote.

Mail clients append the conversation and a signature to every reply; the thread already
has the conversation, so only the new text is kept. Losing a customer's words is worse
than showing a stray quote, so only three kinds of lines are ever removed:

- a block of ``>``-quoted lines, and the reply header line(s) just above it ("On … wrote:");
  unquoted text after a quote block is the customer's and is kept, so answers written
  below the quote or inline between quotes survive;
- everything from a header that opens unquoted history (Outlook's "From: … Sent: …"
  block, "-----Original Message-----") to the end, unless a quote block follows it;
- signatures ("-- " up to the next quote) and phone footers ("Sent from my iPhone")
  that end a stretch of the customer's text.

What a forwarded message brings ("FYI" above "---------- Forwarded message") is content
the customer sends on purpose and is kept as it is. The other languages' header and
footer phrases come from mail-parser-reply; headers in languages it does not know are
recognised by their shape: a date and a time or an address, ending in a colon right above
a quote, or a block of "Label: value" lines carrying a date and an address.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

from mailparser_reply.constants import GENERIC_MAIL_SEPARATOR, MAIL_LANGUAGES


def _library_patterns(key: str) -> re.Pattern[str]:
    patterns = [spec[key] for spec in MAIL_LANGUAGES.values() if spec.get(key)]
    return re.compile("|".join(f"(?:{pattern})" for pattern in patterns), re.I | re.M)


# "On … wrote:", "Am … schrieb …:", "Den … skrev …:" … in every language the library knows.
_LIBRARY_WROTE = _library_patterns("wrote_header")
# "From: … Sent: …", "Von: … Gesendet: …", "发件人: … 发送时间: …" …
_LIBRARY_FROM_BLOCK = _library_patterns("from_header")
_LIBRARY_SEPARATOR = re.compile(GENERIC_MAIL_SEPARATOR, re.I | re.M)
# "Sent from my", "Inviato da", "Skickat från min" …
_LIBRARY_SENT_FROM = _library_patterns("sent_from")
# Phone footers the library does not list.
_OTHER_SENT_FROM = re.compile(
    r"(?:Sent from (?:Mail|Outlook|Yahoo Mail)|Von meinem .{1,30} gesendet|Envoyé de mon"
    r"|Lähetetty \S+sta|Verstuurd vanaf mijn|Отправлено с)",
    re.I,
)
# Forwarding is content: these markers end trimming, whatever follows them is kept.
_FORWARD_MARKER = re.compile(
    r"^\s*(?:[-=_]{2,}\s*)?(?:Begin forwarded message|Forwarded message"
    r"|Weitergeleitete Nachricht|Message transféré|Mensaje reenviado|Messaggio inoltrato"
    r"|Doorgestuurd bericht)\s*:?\s*(?:[-=_]{2,})?\s*$",
    re.I,
)

# A line of dashes or underscores, bare or around a label ("-----Reply Message-----").
_SEPARATOR = re.compile(r"^\s*(?:[-_=]{2,}[^-_=]{1,40}[-_=]{2,}|_{10,}|-{10,})\s*$")
# "Label: value" in any script: "From:", "De :", "Đã gửi:", "Отправлено:", "发件人:".
_LABEL_LINE = re.compile(r"^\s*\**\s*[^\W\d_]+(?:[ .'’-][^\W\d_]+){0,3}\s?\**\s?[:：]")
_YEAR_OR_DATE = re.compile(r"(?<!\d)(?:19|20)\d{2}(?!\d)|(?<!\d)\d{1,2}[/.]\d{1,2}[/.]\d{2,4}")
_TIME = re.compile(r"(?<!\d)\d{1,2}:\d{2}(?!\d)")
_ADDRESS = re.compile(r"\S@\S")
_QUOTE_PREFIX = re.compile(r"^\s*((?:>[ \t]?)+)")
SIGNATURE_SEPARATOR = re.compile(r"^-- ?$")

QUOTE, TEXT, BLANK = "quote", "text", "blank"
# A reply header wraps over at most this many lines; a "From: … Sent: …" block is shorter
# than the other bound, which also keeps odd input ("a: b" on every line) linear.
_HEADER_SPAN = 3
_HEADER_BLOCK_LINES = 12


def _kinds(lines: list[str]) -> list[str]:
    """Quote, text or blank for each line.

    ">>> import x" is a Python prompt, not a third quote level, when it jumps two levels
    deeper than the line before: real nested quotes step down one level at a time.
    """
    kinds = []
    previous_depth = 0
    for line in lines:
        prefix = _QUOTE_PREFIX.match(line)
        if not prefix:
            kinds.append(TEXT if line.strip() else BLANK)
            previous_depth = 0
            continue
        depth = prefix.group(1).count(">")
        if line.lstrip().startswith(">>>") and depth - previous_depth >= 2:
            kinds.append(TEXT)
            previous_depth = 0
            continue
        kinds.append(QUOTE)
        previous_depth = depth
    return kinds


def _looks_like_header(text: str) -> bool:
    """A header's shape in any language: a date, then a time or an address, then a colon."""
    return bool(
        len(text) <= 300
        and text.rstrip().endswith((":", "："))
        and _YEAR_OR_DATE.search(text)
        and (_TIME.search(text) or _ADDRESS.search(text))
    )


def _is_reply_header(text: str, *, before_quote: bool) -> bool:
    if _looks_like_header(text):
        return True
    # "On the failing node the job wrote:" followed by the output stays; right above a
    # quote block, or with nothing after it, the library's pattern is trusted.
    return bool(before_quote and _LIBRARY_WROTE.match(text) and text.rstrip().endswith(":"))


def _header_lines_above(lines: list[str], kinds: list[str], drop: list[bool], end: int):
    """The line indexes of a reply header that ends at line ``end``, or none.

    The shortest window that reads as a header wins, so a customer's line just above a
    header wrapped over several lines is never taken with it.
    """
    if end < 0 or kinds[end] != TEXT or drop[end]:
        return range(0)
    if not lines[end].rstrip().endswith((":", "：")):
        return range(0)
    for span in range(1, _HEADER_SPAN + 1):
        start = end - span + 1
        if start < 0 or any(kinds[i] != TEXT or drop[i] for i in range(start, end + 1)):
            break
        window = " ".join(line.strip() for line in lines[start : end + 1])
        if _is_reply_header(window, before_quote=True):
            return range(start, end + 1)
    return range(0)


def _label_run(lines: list[str], kinds: list[str], start: int) -> int:
    end = start
    limit = min(len(lines), start + _HEADER_BLOCK_LINES)
    while end < limit and kinds[end] == TEXT and _LABEL_LINE.match(lines[end]):
        end += 1
    return end


def _header_block_end(lines: list[str], kinds: list[str], start: int) -> int | None:
    """Where a "From: … Sent: … To: … Subject: …" block starting at ``start`` ends."""
    if kinds[start] != TEXT:
        return None
    if start > 0 and kinds[start - 1] == TEXT and not _SEPARATOR.match(lines[start - 1]):
        # Such a block starts a paragraph; mid-paragraph it is the customer's text.
        return None
    end = _label_run(lines, kinds, start)
    if end - start < 3:
        return None
    block = "\n".join(lines[start:end])
    known = _LIBRARY_FROM_BLOCK.match(block)
    dated, addressed = bool(_YEAR_OR_DATE.search(block)), bool(_ADDRESS.search(block))
    if (known and (dated or addressed)) or (dated and addressed):
        return end
    return None


def _history_header_end(lines: list[str], kinds: list[str], start: int) -> int | None:
    """Where a header that opens the previous message ends, if one starts here."""
    if _SEPARATOR.match(lines[start]):
        following = _next_nonblank(kinds, start + 1)
        if following is not None:
            block_end = _header_block_end(lines, kinds, following)
            if block_end is not None:
                return block_end
        if _LIBRARY_SEPARATOR.match(lines[start].strip()):
            return start + 1
        return None
    return _header_block_end(lines, kinds, start)


def _next_nonblank(kinds: list[str], start: int) -> int | None:
    return next((i for i in range(start, len(kinds)) if kinds[i] != BLANK), None)


def _is_phone_footer(line: str) -> bool:
    line = line.strip()
    # "Sent from my iPhone", not "Sent from my laptop, the upload failed again."
    if len(line.split()) > 6 or "," in line or line.endswith(("!", "?", ":")):
        return False
    if _LABEL_LINE.match(line):
        return False
    return bool(_LIBRARY_SENT_FROM.match(line) or _OTHER_SENT_FROM.match(line))


def _lines_to_drop(lines: list[str], kinds: list[str]) -> list[bool]:
    drop = [False] * len(lines)
    kept_from = len(lines)  # a forwarded message and all after it are kept as they are
    index = 0
    while index < len(lines):
        kind = kinds[index]
        if kind == QUOTE:
            start = index
            while index < len(lines) and kinds[index] == QUOTE:
                drop[index] = True
                index += 1
            above = start - 1
            while above >= 0 and kinds[above] == BLANK and start - above <= 2:
                above -= 1
            for header_line in _header_lines_above(lines, kinds, drop, above):
                drop[header_line] = True
            continue
        if kind == TEXT:
            if _FORWARD_MARKER.match(lines[index]):
                kept_from = index
                break
            header_end = _history_header_end(lines, kinds, index)
            if header_end is not None:
                following = _next_nonblank(kinds, header_end)
                if following is not None and kinds[following] == QUOTE:
                    # The header introduces a quote block: text after it may be an answer.
                    for header_line in range(index, following):
                        drop[header_line] = True
                    index = following
                    continue
                for rest in range(index, len(lines)):
                    drop[rest] = True
                break
            if SIGNATURE_SEPARATOR.match(lines[index]):
                drop[index] = True
                index += 1
                while (
                    index < len(lines)
                    and kinds[index] != QUOTE
                    and not _FORWARD_MARKER.match(lines[index])
                    and _history_header_end(lines, kinds, index) is None
                ):
                    drop[index] = True
                    index += 1
                continue
        index += 1

    _drop_trailing_header(lines, kinds, drop, kept_from)
    for index in range(kept_from):
        if kinds[index] == TEXT and not drop[index] and _is_phone_footer(lines[index]):
            following = _next_nonblank(kinds, index + 1)
            if following is None or drop[following] or following == kept_from:
                drop[index] = True
    return drop


def _drop_trailing_header(lines: list[str], kinds: list[str], drop: list[bool], end: int):
    """A reply header left with nothing after it (its quote already gone)."""
    last = next((i for i in range(end - 1, -1, -1) if kinds[i] != BLANK and not drop[i]), None)
    if last is None:
        return
    for header_line in _header_lines_above(lines, kinds, drop, last):
        drop[header_line] = True


def trim_reply(text: str) -> str:
    """The new text of an emailed reply: no quoted history, no signature."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = [line.rstrip() for line in text.split("\n")]
    kinds = _kinds(lines)
    drop = _lines_to_drop(lines, kinds)
    kept = [line.rstrip() for line, dropped in zip(lines, drop, strict=True) if not dropped]
    trimmed = "\n".join(kept)
    # Blank lines left where quotes were removed.
    trimmed = re.sub(r"\n{3,}", "\n\n", trimmed)
    return trimmed.strip("\n").strip()


class _TextExtractor(HTMLParser):
    """HTML as a plain-text mail client would write it: quotes as "> ", signatures after "-- "."""

    # fmt: off
    _BLOCKS = frozenset({
        "address", "article", "blockquote", "dd", "div", "dl", "dt", "footer", "h1", "h2",
        "h3", "h4", "h5", "h6", "header", "hr", "li", "ol", "p", "pre", "section", "table",
        "tbody", "thead", "tr", "ul",
    })
    # fmt: on
    _INVISIBLE = frozenset({"head", "script", "style", "title"})
    _SIGNATURE_CLASSES = frozenset({"gmail_signature"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self._line: list[str] = []
        self._quote_depth = 0
        self._hidden_depth = 0
        self._pre_depth = 0
        self._typed_space = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._INVISIBLE:
            self._hidden_depth += 1
            return
        if tag == "br":
            self._break(force=True)
            return
        if tag in self._BLOCKS:
            self._break()
        if tag == "blockquote":
            self._quote_depth += 1
        elif tag == "pre":
            self._pre_depth += 1
        elif tag == "li":
            self._line.append("- ")
        elif tag == "hr":
            # Outlook rules a line above the quoted message's header block.
            self.lines.append(self._prefixed("_" * 32))
        classes = set((dict(attrs).get("class") or "").split())
        if classes & self._SIGNATURE_CLASSES:
            self.lines.append(self._prefixed("-- "))

    def handle_endtag(self, tag: str) -> None:
        if tag in self._INVISIBLE:
            self._hidden_depth = max(0, self._hidden_depth - 1)
            return
        if tag in self._BLOCKS:
            self._break()
        if tag == "blockquote":
            self._quote_depth = max(0, self._quote_depth - 1)
        elif tag == "pre":
            self._pre_depth = max(0, self._pre_depth - 1)

    def handle_data(self, data: str) -> None:
        if self._hidden_depth:
            return
        if "\xa0" in data:
            # "<p>&nbsp;</p>" is how Outlook and others write an empty line.
            self._typed_space = True
        data = data.replace("\xa0", " ")
        if self._pre_depth:
            *complete, rest = data.split("\n")
            for part in complete:
                self._line.append(part)
                self._break(force=True)
            self._line.append(rest)
            return
        self._line.append(re.sub(r"\s+", " ", data))

    def close(self) -> None:
        super().close()
        self._break()

    def _prefixed(self, text: str) -> str:
        if not self._quote_depth:
            return text
        return (">" * self._quote_depth + " " + text).rstrip()

    def _break(self, *, force: bool = False) -> None:
        text = "".join(self._line).strip()
        self._line = []
        typed_space, self._typed_space = self._typed_space, False
        if text or force or typed_space:
            self.lines.append(self._prefixed(text))


def html_to_text(markup: str) -> str:
    """Plain text from an HTML-only email, quoted blocks written as "> " lines.

    trim_reply then removes them by the same rules as a plain-text reply's quotes, so an
    answer written below or between quoted blocks is kept.
    """
    parser = _TextExtractor()
    parser.feed(markup)
    parser.close()
    return "\n".join(parser.lines)
