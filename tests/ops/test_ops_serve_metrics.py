"""``idp serve`` with metrics on: every worker counts into one multiprocess directory, any scrape adds them all up,
the directory goes when the server stops; log lines are JSON with the request id."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest
import requests

pytestmark = pytest.mark.e2e

TOKEN = "s" * 40


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(app, settings, tmp_path):
    port = _free_port()
    config = tmp_path / "config.toml"
    config.write_text(f'[server]\nworkers = 2\nthreads = 2\ngraceful_timeout = 5\n\n'
                      f'[metrics]\nenabled = true\ntoken = "{TOKEN}"\n')
    env = dict(os.environ, IDP_CONFIG=str(config), IDP_ISSUER=f"http://127.0.0.1:{port}",
               IDP_SECRET_KEY=settings.secret_key, IDP_CLIENT_SECRET_KEY=settings.client_secret_key,
               IDP_DATABASE_URL=settings.database.url, IDP_KEYS_DIR=settings.keys.dir,
               IDP_MFA_ENCRYPTION_KEY=settings.mfa.encryption_key, TMPDIR=str(tmp_path))
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    proc = subprocess.Popen([sys.executable, "-m", "idp", "serve", "--bind", f"127.0.0.1:{port}"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_it_answers(base + "/.well-known/openid-configuration", proc)
        yield base, proc, tmp_path
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def _wait_until_it_answers(url: str, proc: subprocess.Popen) -> None:
    """The master listens before its workers have booted: a connection may wait (a read timeout) until one has."""
    deadline = time.monotonic() + 60
    while True:
        assert proc.poll() is None, proc.communicate()[1]
        try:
            requests.get(url, timeout=10)
            return
        except (requests.ConnectionError, requests.Timeout):
            assert time.monotonic() < deadline, "idp serve did not answer"
            time.sleep(0.2)


def _healthz_count(base: str) -> float:
    text = requests.get(base + "/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5).text
    line = next(line for line in text.splitlines() if line.startswith(
        'idp_http_request_duration_seconds_count{endpoint="ops.healthz",method="GET",status="200"}'))
    return float(line.rsplit(" ", 1)[1])


def test_workers_share_their_metrics_and_log_json_with_request_ids(server):
    base, proc, tmp_path = server
    for _ in range(20):
        requests.get(base + "/healthz", headers={"Connection": "close"}, timeout=5)
    counts = {_healthz_count(base) for _ in range(6)}  # whichever worker answers, it adds up every worker's counts
    assert counts == {20.0}
    assert list(tmp_path.glob("idp-metrics-*/*.db"))
    not_ready = requests.get(base + "/readyz", headers={"X-Request-ID": "probe-0001"}, timeout=5)
    assert not_ready.status_code == 503 and not_ready.headers["X-Request-ID"] == "probe-0001"
    _killed_worker_stops_counting(tmp_path)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=20)
    assert proc.returncode == 0, stderr
    lines = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    assert any(line["request_id"] == "probe-0001" and line["logger"] == "idp.ops.health" for line in lines)
    assert not list(tmp_path.glob("idp-metrics-*"))


def _killed_worker_stops_counting(tmp_path) -> None:
    """The readyz worker holds a live gauge (its connection pool); SIGKILL it: child_exit drops its gauge file."""
    (gauge,) = list(tmp_path.glob("idp-metrics-*/gauge_livesum_*.db"))[:1]
    os.kill(int(gauge.stem.rsplit("_", 1)[1]), signal.SIGKILL)
    deadline = time.monotonic() + 15
    while gauge.exists():
        assert time.monotonic() < deadline, "the dead worker's gauge is still counted"
        time.sleep(0.2)
