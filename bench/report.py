"""The issue's targets checked against a run, and the markdown table of a run."""

from __future__ import annotations

#: scenario → minimum ratio to its ceiling (issue #8)
MIN_RATIO = {"login": 0.8, "refresh": 0.30, "client_credentials": 0.60, "userinfo": 0.70, "discovery": 0.90,
             "jwks": 0.90}
LOGIN_MAX_CPU_IN_HASHES = 1.2
LOGIN_MAX_P99_MS = 400
MAX_RSS_MB = 150
MAX_GROWTH = 0.10
LABELS = {"login": "full MFA login (8 requests)", "refresh": "refresh grant (rotating)",
          "client_credentials": "client-credentials grant", "userinfo": "userinfo", "discovery": "discovery",
          "jwks": "JWKS"}


def targets(report: dict) -> list[dict]:
    checks = []

    def check(name: str, value, limit, ok: bool) -> None:
        checks.append({"target": name, "value": value, "limit": limit, "met": bool(ok)})

    for scenario, result in report["scenarios"].items():
        check(f"{scenario}: throughput / {result['ratio_to']}", result["ratio"], f">= {MIN_RATIO[scenario]}",
              result["ratio"] >= MIN_RATIO[scenario])
        check(f"{scenario}: errors", result["errors"], "0", result["errors"] == 0)
        if scenario == "login":
            check("login: server CPU per login / one hash", result["cpu_per_login_in_hashes"],
                  f"<= {LOGIN_MAX_CPU_IN_HASHES}", result["cpu_per_login_in_hashes"] <= LOGIN_MAX_CPU_IN_HASHES)
            p99 = result["latency_ms"]["p99"]
            check("login: p99 of a whole flow (ms)", p99, f"< {LOGIN_MAX_P99_MS}", p99 is not None and p99 < LOGIN_MAX_P99_MS)
    memory = report["memory"]
    peak = max(memory["rss_mb_per_worker_after"] or [0])
    check("RSS per worker after the run (MB)", peak, f"<= {MAX_RSS_MB}", peak <= MAX_RSS_MB)
    if memory["growth_last_two_rounds"] is not None:
        check("RSS growth between the last two rounds", memory["growth_last_two_rounds"], f"<= {MAX_GROWTH}",
              memory["growth_last_two_rounds"] <= MAX_GROWTH)
    return checks


#: the two stack-ceiling runs of one report differing by more than this: the machine's speed changed during the run
NOISE_LIMIT = 0.25


def noisy_machine(ceiling_runs: list[float]) -> list[str]:
    """A warning line when the stack ceiling measured before and after idp's runs disagree: the same code ran at
    different speeds, so this run's ratios (and every CPU figure) are uncertain by at least as much."""
    if len(ceiling_runs) < 2 or not min(ceiling_runs):
        return []
    spread = max(ceiling_runs) / min(ceiling_runs) - 1
    if spread <= NOISE_LIMIT:
        return []
    return [f"- **Noisy machine**: the two stack-ceiling runs differ by {spread:.0%} (more than {NOISE_LIMIT:.0%}); "
            "the same code ran at different speeds during this run, so compare figures only between runs that agree."]


def markdown(report: dict) -> str:
    c, m, ceil = report["config"], report["machine"], report["ceilings"]
    lines = [
        f"Run {report['started_at']} on {m['cpu']} ({m['cores']} cores, {m['memory_gb']} GB), Python {m['python']}, "
        f"load average at start {', '.join(f'{x:.2f}' for x in m['load_avg_at_start'])}.",
        f"`idp serve`: {c['workers']} workers × {c['threads']} threads, {c['database']}"
        f"{' + redis (throttle counters)' if c.get('redis') else ''}; concurrency {c['concurrency']}, "
        f"{c['duration_s']} s per scenario, round {c['rounds']} of {c['rounds']} shown; generator: {c['generator']}.",
        "",
        f"- Hash bound: one argon2id hash (m={ceil['hash']['parameters']['memory_cost']} KiB, "
        f"t={ceil['hash']['parameters']['time_cost']}, p={ceil['hash']['parameters']['parallelism']}) "
        f"= {ceil['hash']['ms']} ms → {ceil['hash']['bound_per_s']} logins/s on {m['cores']} cores.",
        f"- Stack ceiling: `GET /bench/hello` on idp's app and gunicorn settings = {ceil['stack']['throughput']} req/s "
        f"(p50 {ceil['stack']['latency_ms']['p50']} ms, p99 {ceil['stack']['latency_ms']['p99']} ms, server CPU "
        f"{ceil['stack']['cpu_per_request_ms']} ms/req, generator CPU {ceil['stack']['generator_cpu_per_request_ms']} ms/req; "
        f"the better of two runs, before and after idp's: {' and '.join(map(str, ceil['stack'].get('runs_per_s', [])))} req/s).",
        *noisy_machine(ceil['stack'].get('runs_per_s', [])),
        "",
        "| Scenario | Throughput /s | p50 ms | p99 ms | Errors | Server CPU ms/unit | PostgreSQL CPU ms/unit "
        "| Generator CPU ms/unit | Ratio | Target |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for scenario, r in report["scenarios"].items():
        ok = r["ratio"] >= MIN_RATIO[scenario]
        lines.append(
            f"| {LABELS.get(scenario, scenario)} | {r['throughput']} | {r['latency_ms']['p50']} | {r['latency_ms']['p99']} "
            f"| {r['errors']} | {r['cpu_per_request_ms']} | {r.get('database_cpu_per_request_ms', '-')} "
            f"| {r['generator_cpu_per_request_ms']} "
            f"| {r['ratio']} of {r['ratio_to']} | ≥ {MIN_RATIO[scenario]} {'✓' if ok else '✗'} |")
    login = report["scenarios"].get("login")
    if login:
        lines += ["", f"Login: server CPU per login = {login['cpu_per_login_in_hashes']} × one hash "
                      f"({login['cpu_per_http_request_ms']} ms per HTTP request; per-request p50 "
                      f"{login['request_latency_ms']['p50']} ms, p99 {login['request_latency_ms']['p99']} ms); "
                      f"user-pool waits {login.get('user_pool_waits', 0)}."]
    mem = report["memory"]
    lines += ["", f"RSS per worker (MB): before {mem['rss_mb_per_worker_before']}, after each round "
                  f"{mem['rss_mb_per_worker_after_each_round']}; growth over the last round "
                  f"{mem['growth_last_two_rounds']}.", "", "| Target | Value | Limit | Met |", "|---|---:|---|---|"]
    for t in report["targets"]:
        lines.append(f"| {t['target']} | {t['value']} | {t['limit']} | {'✓' if t['met'] else '✗'} |")
    return "\n".join(lines) + "\n"
