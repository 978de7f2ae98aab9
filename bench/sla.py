"""Time the service-level re-evaluation alone, over a database the benchmark built.

    .venv/bin/python bench/sla.py --database-url postgres://postgres@127.0.0.1:5432/portal_bench

The same step as `make bench` (bench/run.py, `run_sla`): every plan's targets are
lengthened by 30 minutes and every open target re-evaluated with `recompute_many()`,
then the targets go back and it runs again, so every target moves both times; the
faster run is reported per 100,000 targets. The database is left as it was found
(apart from the history entries), so the command can be repeated; `--profile` also
prints where the second run spent its time (cProfile, by cumulative time, or by another
order named in SLA_PROFILE_SORT, e.g. `tottime`).

It does not rebuild the data: run `make bench` once (`BENCH_ARGS="--skip http"` is
enough), or point it at any database that holds the bench's data set.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.run import (  # noqa: E402
    DEFAULT_DATABASE_URL,
    SLA_MAX_SECONDS_PER_100K,
    production_env,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)
    )
    parser.add_argument("--profile", action="store_true", help="profile the second run")
    args = parser.parse_args(argv)
    # Production settings, as in the bench and the worker: with DEBUG on, Django would
    # also format every statement's parameters (thousands of values) for its debug log.
    settings = argparse.Namespace(
        database_url=args.database_url, broker_url="memory://", cache_url="", port=0
    )
    os.environ.update(production_env(settings, Path(tempfile.mkdtemp(prefix="portal-sla-"))))
    import django

    django.setup()
    from bench import data
    from bench.run import time_sla_recompute

    data.analyze()
    moved, first = time_sla_recompute(timedelta(minutes=30))
    print(f"lengthened: {moved:,} targets in {first:.2f} s", flush=True)
    data.analyze()
    profile = cProfile.Profile() if args.profile else None
    if profile:
        profile.enable()
    _, second = time_sla_recompute(timedelta(minutes=-30))
    if profile:
        profile.disable()
    print(f"back:       {moved:,} targets in {second:.2f} s", flush=True)
    per_100k = min(first, second) * 100_000 / moved if moved else 0.0
    print(
        f"best of 2: {per_100k:.1f} s per 100,000 targets "
        f"(target <= {SLA_MAX_SECONDS_PER_100K:.0f} s; load {os.getloadavg()[0]:.1f})"
    )
    if profile:
        pstats.Stats(profile).sort_stats(
            os.environ.get("SLA_PROFILE_SORT", "cumulative")
        ).print_stats(30)
    return 0 if moved and per_100k <= SLA_MAX_SECONDS_PER_100K else 1


if __name__ == "__main__":
    started = time.perf_counter()
    status = main()
    print(f"({time.perf_counter() - started:.0f} s in all)")
    raise SystemExit(status)
