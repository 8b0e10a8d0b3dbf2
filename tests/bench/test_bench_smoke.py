"""The benchmark works: the real harness (``python -m bench``: ``idp serve``, seeding, both ceilings, every
scenario, the load generators) for a second per scenario at a tiny load. Only the shape of its results and zero
errors are checked; no timing is asserted (CI machines are too noisy for that)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import redis

from bench.harness import DEFAULT_REDIS

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ["discovery", "jwks", "userinfo", "client_credentials", "refresh", "login"]


def redis_answers() -> bool:
    try:
        return bool(redis.Redis.from_url(DEFAULT_REDIS, socket_connect_timeout=3).ping())
    except redis.RedisError:
        return False


def test_benchmark_runs_every_scenario_without_errors(database_url, tmp_path):
    out = tmp_path / "bench"
    argv = [sys.executable, "-m", "bench", "--duration", "1", "--concurrency", "2", "--rounds", "2",
            "--login-users", "12", "--database", database_url, "--out", str(out)]
    result = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=600,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    report = json.loads((out / "results.json").read_text())

    assert report["config"]["concurrency"] == 2 and report["config"]["workers"] >= 1
    assert report["config"]["redis"] is redis_answers()  # production's throttle counters: Redis when there is one
    assert report["ceilings"]["hash"]["ms"] > 0 and report["ceilings"]["hash"]["bound_per_s"] > 0
    assert report["ceilings"]["stack"]["requests"] > 0 and report["ceilings"]["stack"]["errors"] == 0
    assert len(report["rounds"]) == 2
    assert list(report["scenarios"]) == SCENARIOS
    for name, scenario in report["scenarios"].items():
        assert scenario["errors"] == 0, (name, scenario["error_samples"])
        assert scenario["requests"] > 0, name
        for key in ("throughput", "cpu_per_request_ms", "generator_cpu_s", "ratio", "server_cpu_s"):
            assert isinstance(scenario[key], (int, float)), (name, key)
        assert set(scenario["latency_ms"]) >= {"p50", "p99"}
    assert report["scenarios"]["login"]["ratio_to"] == "hash bound"
    assert report["scenarios"]["refresh"]["ratio_to"] == "stack ceiling"
    memory = report["memory"]
    assert len(memory["rss_mb_per_worker_after"]) == report["config"]["workers"]
    assert memory["growth_last_two_rounds"] is not None
    assert {t["target"] for t in report["targets"]} >= {"login: server CPU per login / one hash",
                                                        "RSS per worker after the run (MB)"}
    table = (out / "results.md").read_text()
    assert "| full MFA login (8 requests) |" in table and "Stack ceiling" in table
