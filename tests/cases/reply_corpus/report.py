"""Words kept and history removed over the reply corpus, before and after a change.

    .venv/bin/python -m tests.cases.reply_corpus.report [--before GIT_REF] [-v]

"Before" is ``cases/reply_text.py`` as it was at GIT_REF (by default the commit before
the trimmer was reworked), loaded from git; "after" is the working tree's.
"""

from __future__ import annotations

import argparse
import subprocess
import types
from collections.abc import Callable

from cases.inbound.reply_text import trim_reply

from . import Score, load_samples, score

BEFORE_REF = "b268e7d9ba1436494e9847eea624bd01513e5dbc"


def _trimmer_at(ref: str) -> Callable[[str], str]:
    source = subprocess.run(
        ["git", "show", f"{ref}:cases/reply_text.py"],  # noqa: S607 - git from PATH
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    module = types.ModuleType("reply_text_before")
    exec(compile(source, f"{ref}:cases/reply_text.py", "exec"), module.__dict__)  # noqa: S102
    return module.trim_reply


def _line(label: str, scores: list[Score]) -> str:
    words = sum(s.words_expected for s in scores)
    kept = sum(s.words_kept for s in scores)
    history = sum(s.history_lines_expected for s in scores)
    removed = sum(s.history_lines_removed for s in scores)
    exact = sum(s.exact for s in scores)
    return (
        f"{label:<7} customer words kept {kept}/{words} ({kept / words:.1%}), "
        f"history lines removed {removed}/{history} ({removed / history:.1%}), "
        f"samples exactly right {exact}/{len(scores)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default=BEFORE_REF, help="git ref of the old trimmer")
    parser.add_argument("-v", "--verbose", action="store_true", help="one line per sample")
    options = parser.parse_args()

    samples = load_samples()
    before_trim = _trimmer_at(options.before)
    before = [score(sample, before_trim(sample.reply)) for sample in samples]
    after = [score(sample, trim_reply(sample.reply)) for sample in samples]
    if options.verbose:
        for sample, old, new in zip(samples, before, after, strict=True):
            print(
                f"{sample.name:<40} words {old.words_kept:>3}->{new.words_kept:>3}"
                f"/{new.words_expected:<3} history {old.history_lines_removed:>2}->"
                f"{new.history_lines_removed:>2}/{new.history_lines_expected}"
            )
    print(f"{len(samples)} replies in tests/cases/reply_corpus/")
    print(_line("before", before))
    print(_line("after", after))


if __name__ == "__main__":
    main()
