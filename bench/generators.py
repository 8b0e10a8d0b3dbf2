"""Running a load generator as a separate process and reading its result and its own CPU time.

wrk (C, one event-loop thread) drives the one-request scenarios when it is installed; the Python generator
(``bench.loadgen``) drives the MFA login, which needs a browser's cookies, CSRF tokens and TOTP codes, and the other
scenarios when wrk is missing or ``--generator python`` is asked for.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from .loadgen import basic

HERE = Path(__file__).resolve().parent
WRK_SCENARIOS = {"discovery", "jwks", "hello", "userinfo", "client_credentials", "refresh"}
PATHS = {"discovery": "/.well-known/openid-configuration", "jwks": "/jwks.json", "hello": "/bench/hello",
         "userinfo": "/userinfo", "client_credentials": "/token", "refresh": "/token"}


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(job: dict, use_wrk: bool, workdir: Path, wrk_threads: int = 1) -> dict:
    """Run one scenario; the result has requests, errors, elapsed, latency_ms and generator_cpu_s."""
    before = _children_cpu()
    if use_wrk and job["scenario"] in WRK_SCENARIOS:
        result = _run_wrk(job, workdir, wrk_threads)
    else:
        result = _run_python(job, workdir)
    result["generator_cpu_s"] = round(_children_cpu() - before, 3)
    return result


def _run_python(job: dict, workdir: Path) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".json", dir=workdir, delete=False) as fh:
        json.dump(job, fh)
        job_path = fh.name
    result_path = job_path.replace(".json", ".result.json")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(HERE.parent), os.environ.get("PYTHONPATH")]))}
    subprocess.run([sys.executable, "-m", "bench.loadgen", job_path, result_path], check=True, env=env,
                   cwd=HERE.parent, timeout=job["duration"] + 300)
    result = json.loads(Path(result_path).read_text())
    result["generator"] = "python"
    os.unlink(job_path)
    os.unlink(result_path)
    return result


def _run_wrk(job: dict, workdir: Path, threads: int) -> dict:
    scenario = job["scenario"]
    threads = max(1, min(threads, job["concurrency"]))
    args = [scenario if scenario in ("userinfo", "client_credentials", "refresh") else "get"]
    if scenario in ("userinfo", "refresh"):
        values = workdir / f"{scenario}-tokens.txt"
        tokens = job["access_tokens"] if scenario == "userinfo" else job["refresh_tokens"]
        values.write_text("\n".join(tokens) + "\n")
        args.append(str(values))
    else:
        args.append("")
    client = job["machine"] if scenario == "client_credentials" else job["web"]
    args += [basic(client["client_id"], client["client_secret"]), job["machine"]["scope"], str(threads)]
    argv = ["wrk", "-t", str(threads), "-c", str(job["concurrency"]), "-d", f"{max(1, round(job['duration']))}s", "--timeout", "10s",
            "-s", str(HERE / "wrk.lua"), job["base_url"] + PATHS[scenario], "--", *args]
    out = subprocess.run(argv, check=True, capture_output=True, text=True, timeout=job["duration"] + 60).stdout
    raw = json.loads(out.strip().splitlines()[-1])
    errors = sum(raw["errors"].values())
    lat = raw["latency_us"]
    return {
        "scenario": scenario,
        "generator": f"wrk -t{threads}",
        "requests": raw["requests"] - errors,
        "http_requests": raw["requests"],
        "errors": errors,
        "error_samples": [f"wrk errors: {raw['errors']}"] if errors else [],
        "elapsed": raw["duration_us"] / 1e6,
        "latency_ms": {k: round(lat[k] / 1000, 2) for k in ("p50", "p99", "mean", "max")},
    }
