"""The benchmark run: database and seed, the two ceilings, then every scenario against ``idp serve``, measured.

1. An empty database (PostgreSQL when it answers, else SQLite), migrated, seeded through the service layer.
2. The hash bound: one argon2id hash at the configured parameters, timed on one core; cores ÷ that time = the most
   logins per second the machine can do.
3. The stack ceiling: ``bench.stack_server`` (idp's app and gunicorn options plus a trivial route) under the same
   generator as the one-request scenarios.
4. ``idp serve`` with one worker per core; per round: a few login flows to get tokens (and warm up), then each
   scenario for ``duration`` seconds at ``concurrency``, with the server's CPU time and the workers' RSS around it.
"""

from __future__ import annotations

import json
import math
import os
import platform
import secrets
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import redis
from argon2 import PasswordHasher, Type
from cryptography.fernet import Fernet

from idp.config import load_settings
from idp.oidc.keys import ensure_keys
from idp.security.passwords import usable_cores

from . import generators, seed, servers
from .report import markdown, targets

SCENARIOS = ("discovery", "jwks", "userinfo", "client_credentials", "refresh", "login")
BENCH_DATABASE = "idp_bench"
DEFAULT_POSTGRES = f"postgresql+psycopg://postgres@127.0.0.1:5432/{BENCH_DATABASE}"
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"
#: users per login scenario: (hash bound) × 30 s × this margin, so no user needs two codes in one TOTP step
USER_MARGIN = 1.25


@dataclass
class Options:
    duration: float = 15
    concurrency: int = 16
    scenarios: tuple[str, ...] = SCENARIOS
    rounds: int = 2
    database: str | None = None
    redis: str | None = None  # None: DEFAULT_REDIS when it answers; "none": no Redis
    workers: int | None = None
    threads: int | None = None
    generator: str = "auto"  # auto (wrk when installed) | wrk | python
    wrk_threads: int = 1
    login_users: int | None = None
    out: Path = Path("bench-results")
    profile: bool = False
    extra: dict = field(default_factory=dict)


def choose_database(url: str | None, workdir: Path) -> str:
    if url:
        return url
    server = DEFAULT_POSTGRES.replace("+psycopg", "").rsplit("/", 1)[0]
    try:
        with psycopg.connect(f"{server}/postgres", connect_timeout=3, autocommit=True) as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (BENCH_DATABASE,)).fetchone():
                conn.execute(f"CREATE DATABASE {BENCH_DATABASE}")  # a fresh machine has only its own databases
        return DEFAULT_POSTGRES
    except psycopg.Error:
        return f"sqlite:///{workdir / 'bench.sqlite3'}"


def choose_redis(url: str | None) -> str:
    """Production's throttle counters live in Redis: the given URL, else the local Redis when it answers, else ""."""
    if url:
        return "" if url == "none" else url
    try:
        redis.Redis.from_url(DEFAULT_REDIS, socket_connect_timeout=3, socket_timeout=3).ping()
        return DEFAULT_REDIS
    except redis.RedisError:
        return ""


def server_environment(workdir: Path, database_url: str, workers: int, port: int,
                       threads: int | None = None, redis_url: str = "") -> dict[str, str]:
    """The environment ``idp serve`` reads, as in production: a config file plus the documented overrides."""
    config = workdir / "config.toml"
    config.write_text(f"[server]\nworkers = {workers}\naccess_log = false\n"
                      + (f"threads = {threads}\n" if threads else "")
                      # a prefix of its own: counters of earlier runs or of other users of this Redis are not touched
                      + (f'[redis]\nurl = "{redis_url}"\nkey_prefix = "idp-bench-{secrets.token_hex(4)}:"\n'
                         if redis_url else ""))
    keys = workdir / "keys"
    ensure_keys(keys)
    return {
        **os.environ,
        "IDP_CONFIG": str(config),
        "IDP_ISSUER": f"http://127.0.0.1:{port}",
        "IDP_SECRET_KEY": secrets.token_urlsafe(32),
        "IDP_CLIENT_SECRET_KEY": secrets.token_urlsafe(32),
        "IDP_DATABASE_URL": database_url,
        "IDP_KEYS_DIR": str(keys),
        "IDP_MFA_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(servers.ROOT), os.environ.get("PYTHONPATH")])),
    }


def hash_time(settings, samples: int = 15) -> float:
    """Median seconds of one argon2id hash at the configured parameters, on one core."""
    p = settings.passwords
    hasher = PasswordHasher(time_cost=p.time_cost, memory_cost=p.memory_cost, parallelism=p.parallelism, type=Type.ID)
    times = []
    for _ in range(samples):
        started = time.perf_counter()
        hasher.hash("benchmark passphrase for load tests")
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def machine() -> dict:
    model = ""
    try:
        model = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {"cpu": model or platform.processor(), "cores": usable_cores(), "memory_gb": round(_mem_total_gb(), 1),
            "kernel": platform.release(), "python": platform.python_version(), "load_avg_at_start": os.getloadavg()}


def _mem_total_gb() -> float:
    with open("/proc/meminfo") as fh:
        return int(fh.readline().split()[1]) / 2**20


def run(options: Options) -> dict:
    out = options.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    workdir = out / "work"
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir()
    workers = options.workers or usable_cores()
    database_url = choose_database(options.database, workdir)
    redis_url = choose_redis(options.redis)
    port = servers.free_port()
    env = server_environment(workdir, database_url, workers, port, options.threads, redis_url)
    settings = load_settings(environ=env)
    use_wrk = options.generator == "wrk" or (options.generator == "auto" and generators.wrk_available())
    if options.generator == "wrk" and not generators.wrk_available():
        raise SystemExit("wrk is not installed (make setup installs Debian's wrk)")

    report = {"schema": 1, "started_at": datetime.now(UTC).isoformat(timespec="seconds"), "machine": machine()}
    print(f"bench: database {database_url.split('@')[-1]}, redis {redis_url or 'none'}, {workers} workers × {settings.server.threads} threads, generator "
          f"{'wrk + python' if use_wrk else 'python'}", flush=True)

    seconds = hash_time(settings)
    bound = usable_cores() / seconds
    report["ceilings"] = {"hash": {"ms": round(seconds * 1000, 2), "bound_per_s": round(bound, 1),
                                   "parameters": asdict(settings.passwords)}}
    print(f"bench: one argon2id hash {seconds * 1000:.1f} ms -> hash bound {bound:.1f} logins/s", flush=True)

    login_users = options.login_users or math.ceil(bound * 30 * USER_MARGIN)
    prime_per_round = options.concurrency * 2 + 4
    seed.reset_database(database_url)
    started = time.perf_counter()
    data = seed.seed(settings, login_users, prime_per_round * options.rounds)
    print(f"bench: seeded {login_users} + {prime_per_round * options.rounds} users in "
          f"{time.perf_counter() - started:.1f} s", flush=True)

    report["config"] = {
        "duration_s": options.duration, "concurrency": options.concurrency, "rounds": options.rounds,
        "workers": workers, "threads": settings.server.threads, "database": database_url.split(":", 1)[0].split("+")[0],
        "redis": bool(redis_url),
        "generator": "wrk (one-request scenarios) + python asyncio/aiohttp (login)" if use_wrk else "python asyncio/aiohttp",
        "login_users": login_users, "scenarios": list(options.scenarios),
    }
    base_job = {"concurrency": options.concurrency, "duration": options.duration, "web": data["web"],
                "machine": data["machine"], "password": data["password"],
                "measure_database": database_url.startswith("postgresql")}

    seed.settle(database_url)
    before = _stack_ceiling(env, port, workers, base_job, use_wrk, options, workdir)
    print(f"bench: stack ceiling {before['throughput']:.0f} req/s", flush=True)
    server = servers.idp_serve(env, port, workers, workdir / "idp-serve.log")
    try:
        report["rounds"] = _rounds(server, data, base_job, options, use_wrk, workdir)
    finally:
        server.stop()
    after = _stack_ceiling(env, port, workers, base_job, use_wrk, options, workdir)
    print(f"bench: stack ceiling again {after['throughput']:.0f} req/s", flush=True)
    # the machine's other load varies: ratios are taken to the better of the two ceilings, never flattered by a slow one
    report["ceilings"]["stack"] = {**max(before, after, key=lambda c: c["throughput"]),
                                   "runs_per_s": [before["throughput"], after["throughput"]]}
    for number in report["rounds"]:
        for scenario, result in number["scenarios"].items():
            _with_ratio(scenario, result, report["ceilings"])
    report["scenarios"] = report["rounds"][-1]["scenarios"]
    report["memory"] = _memory(report["rounds"])
    report["targets"] = targets(report)
    report["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    (out / "results.json").write_text(json.dumps(report, indent=2) + "\n")
    (out / "results.md").write_text(markdown(report))
    shutil.rmtree(workdir / "keys", ignore_errors=True)
    return report


def _stack_ceiling(env, port, workers, base_job, use_wrk, options, workdir) -> dict:
    server = servers.stack_server(env, port, workers, workdir / "stack-server.log")
    try:
        job = {**base_job, "scenario": "hello", "base_url": server.base_url}
        generators.run({**job, "duration": min(2, options.duration)}, use_wrk, workdir, options.wrk_threads)  # warm-up
        return _measure(server, job, use_wrk, options, workdir)
    finally:
        server.stop()


def _measure(server, job: dict, use_wrk: bool, options: Options, workdir: Path, profile_to: Path | None = None) -> dict:
    cpu_before, db_before = server.cpu_seconds(), servers.database_cpu_seconds()
    spy = _start_profiler(server, job["duration"], profile_to) if profile_to else None
    result = generators.run(job, use_wrk, workdir, options.wrk_threads)
    cpu, db_after = server.cpu_seconds() - cpu_before, servers.database_cpu_seconds()
    if spy is not None:
        spy.wait(timeout=60)
    done = max(result["requests"], 1)
    result.update(
        throughput=round(result["requests"] / result["elapsed"], 1),
        server_cpu_s=round(cpu, 3),
        cpu_per_request_ms=round(cpu / done * 1000, 3),
        generator_cpu_per_request_ms=round(result["generator_cpu_s"] / done * 1000, 3),
    )
    if db_before is not None and db_after is not None and job.get("measure_database"):
        result["database_cpu_per_request_ms"] = round((db_after - db_before) / done * 1000, 3)
    if result.get("http_requests") and job["scenario"] == "login":
        result["cpu_per_http_request_ms"] = round(cpu / result["http_requests"] * 1000, 3)
    return result


def _start_profiler(server, duration: float, target: Path) -> subprocess.Popen | None:
    """py-spy on the master and its workers for the scenario's duration; raw collapsed stacks to ``target``."""
    spy = shutil.which("py-spy") or shutil.which("py-spy", path=os.path.dirname(sys.executable))
    if spy is None:
        print("bench: py-spy is not installed (pip install '.[bench]'); no profile", flush=True)
        return None
    argv = [spy, "record", "--pid", str(server.master.pid), "--subprocesses", "--rate", "250", "--nonblocking", "--gil",
            "--duration", str(int(duration)), "--format", "raw", "--output", str(target)]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _rounds(server, data, base_job, options, use_wrk, workdir) -> list[dict]:
    rounds = []
    last_steps: dict[str, int] = {}
    per_round = options.concurrency * 2 + 4
    rss_start = server.rss_mb()
    for number in range(options.rounds):
        primers = data["prime_users"][number * per_round:(number + 1) * per_round]
        prime = generators.run({**base_job, "scenario": "prime", "base_url": server.base_url, "users": primers,
                                "count": len(primers), "duration": 120, "last_steps": last_steps},
                               False, workdir)
        if prime["errors"] or len(prime["tokens"]) < options.concurrency + 1:
            raise RuntimeError(f"could not get tokens for the run: {prime['error_samples']}")
        last_steps.update(prime.pop("last_steps", {}))
        tokens = prime["tokens"]
        job = {**base_job, "base_url": server.base_url,
               "refresh_tokens": [t["refresh_token"] for t in tokens[:options.concurrency * 2]],
               "access_tokens": [t["access_token"] for t in tokens[options.concurrency * 2:]] or
                                [tokens[-1]["access_token"]],
               "users": data["login_users"], "last_steps": last_steps}
        results = {}
        for scenario in options.scenarios:
            profile_to = (options.out.resolve() / f"profile-{scenario}.txt"
                          if options.profile and number == options.rounds - 1 else None)
            job_s = {**job, "scenario": scenario}
            result = _measure(server, job_s, use_wrk, options, workdir, profile_to)
            last_steps.update(result.pop("last_steps", {}))
            results[scenario] = result
            print(f"bench: round {number + 1} {scenario}: {result['throughput']:.1f}/s p50 "
                  f"{result['latency_ms']['p50']} ms p99 {result['latency_ms']['p99']} ms errors {result['errors']} "
                  f"cpu {result['cpu_per_request_ms']:.2f} ms/req", flush=True)
        rounds.append({"scenarios": results, "rss_mb_after": server.rss_mb()})
    rounds[0]["rss_mb_before"] = rss_start
    return rounds


def _with_ratio(scenario: str, result: dict, ceilings: dict) -> dict:
    if scenario == "login":
        result["ratio"] = round(result["throughput"] / ceilings["hash"]["bound_per_s"], 3)
        result["ratio_to"] = "hash bound"
        result["cpu_per_login_in_hashes"] = round(result["cpu_per_request_ms"] / ceilings["hash"]["ms"], 3)
    else:
        result["ratio"] = round(result["throughput"] / ceilings["stack"]["throughput"], 3)
        result["ratio_to"] = "stack ceiling"
    return result


def _memory(rounds: list[dict]) -> dict:
    after = [r["rss_mb_after"] for r in rounds]
    growth = None
    if len(after) >= 2 and after[-2] and after[-1]:
        growth = round(max(b / a - 1 for a, b in zip(after[-2], after[-1])), 4)
    return {"rss_mb_per_worker_before": rounds[0].get("rss_mb_before"), "rss_mb_per_worker_after": after[-1],
            "rss_mb_per_worker_after_each_round": after, "growth_last_two_rounds": growth}
