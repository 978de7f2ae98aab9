"""Over the corpus of real-looking replies, every customer word is kept and history goes."""

from __future__ import annotations

import pytest

from cases.inbound.reply_text import trim_reply
from tests.cases.reply_corpus import load_samples

SAMPLES = load_samples()


@pytest.mark.parametrize("sample", SAMPLES, ids=[sample.name for sample in SAMPLES])
def test_reply_keeps_the_customers_text_and_drops_the_history(sample):
    assert trim_reply(sample.reply) == sample.kept, sample.about


@pytest.mark.parametrize("sample", SAMPLES, ids=[sample.name for sample in SAMPLES])
def test_trimming_only_removes_lines_and_never_rewrites_or_reorders_them(sample):
    remaining = iter(line.rstrip() for line in sample.reply.split("\n"))
    for line in trim_reply(sample.reply).split("\n"):
        assert any(line == candidate for candidate in remaining), line
