"""Emailed replies as mail clients write them, each with the text the customer wrote.

One ``.txt`` file per sample: a first line naming the client and the case, then the raw
reply after a ``==== reply`` line and the text to keep after a ``==== kept`` line.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

CORPUS = Path(__file__).parent


@dataclass(frozen=True)
class Sample:
    name: str
    about: str
    reply: str
    kept: str


def load_samples() -> list[Sample]:
    samples = []
    for path in sorted(CORPUS.glob("*.txt")):
        about, rest = path.read_text(encoding="utf-8").split("\n==== reply\n", 1)
        reply, kept = rest.split("\n==== kept\n", 1)
        samples.append(Sample(path.stem, about.strip(), reply, kept.strip("\n")))
    return samples


def _words(text: str) -> Counter[str]:
    return Counter(text.split())


def _lines(text: str) -> Counter[str]:
    return Counter(line.strip() for line in text.split("\n") if line.strip())


@dataclass(frozen=True)
class Score:
    words_expected: int
    words_kept: int
    history_lines_expected: int
    history_lines_removed: int
    exact: bool


def score(sample: Sample, output: str) -> Score:
    """Customer words kept, and lines of history (quotes, headers, signatures) removed."""
    expected_words = _words(sample.kept)
    history = _lines(sample.reply) - _lines(sample.kept)
    left_over = history & _lines(output)
    return Score(
        words_expected=sum(expected_words.values()),
        words_kept=sum((expected_words & _words(output)).values()),
        history_lines_expected=sum(history.values()),
        history_lines_removed=sum(history.values()) - sum(left_over.values()),
        exact=output == sample.kept,
    )
