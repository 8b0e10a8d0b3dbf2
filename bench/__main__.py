"""``python -m bench`` (``make bench``): run the benchmark; see bench/harness.py and BENCHMARKS.md."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .harness import SCENARIOS, Options, run


def parse(argv: list[str]) -> Options:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument("--duration", type=float, default=15, help="seconds per scenario (default 15)")
    p.add_argument("--concurrency", type=int, default=16, help="connections / browsers at once (default 16)")
    p.add_argument("--scenarios", default=",".join(SCENARIOS), help=f"comma-separated, from {','.join(SCENARIOS)}")
    p.add_argument("--rounds", type=int, default=2, help="runs of all scenarios on one server, for RSS growth (2)")
    p.add_argument("--database", help="database URL (default: PostgreSQL idp_bench on 127.0.0.1 if it answers (made if missing), "
                                      "else SQLite in the output folder)")
    p.add_argument("--redis", help="Redis URL for the throttle counters, or 'none' (default: redis://127.0.0.1:6379/0 "
                                   "if it answers, as production runs idp on PostgreSQL and Redis)")
    p.add_argument("--workers", type=int, help="gunicorn workers (default: one per core)")
    p.add_argument("--threads", type=int, help="threads per worker (default: [server] threads, 4)")
    p.add_argument("--generator", choices=["auto", "wrk", "python"], default="auto",
                   help="wrk for the one-request scenarios when installed (auto), or Python for all")
    p.add_argument("--wrk-threads", type=int, default=1)
    p.add_argument("--login-users", type=int, help="users for the login scenario (default: hash bound × 30 s × 1.25)")
    p.add_argument("--out", type=Path, default=Path("bench-results"), help="results.json and results.md go here")
    p.add_argument("--profile", action="store_true", help="py-spy the server during the last round (raw stacks)")
    a = p.parse_args(argv)
    scenarios = tuple(s for s in a.scenarios.split(",") if s)
    unknown = set(scenarios) - set(SCENARIOS)
    if unknown:
        p.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    return Options(duration=a.duration, concurrency=a.concurrency, scenarios=scenarios, rounds=a.rounds,
                   database=a.database, redis=a.redis, workers=a.workers, threads=a.threads, generator=a.generator, wrk_threads=a.wrk_threads,
                   login_users=a.login_users, out=a.out, profile=a.profile)


def main(argv: list[str] | None = None) -> None:
    options = parse(sys.argv[1:] if argv is None else argv)
    report = run(options)
    print((options.out / "results.md").read_text())
    missed = [t["target"] for t in report["targets"] if not t["met"]]
    if missed:
        print(f"bench: {len(missed)} target(s) not met (the run itself succeeded)")


if __name__ == "__main__":
    main()
