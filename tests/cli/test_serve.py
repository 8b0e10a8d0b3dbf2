"""``idp serve``: gunicorn workers answer, SIGTERM stops gracefully, a bad configuration stops it before it serves."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import pytest
import requests

pytestmark = pytest.mark.e2e


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _environ(settings, config_path) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "IDP_CONFIG": str(config_path),
        "IDP_ISSUER": settings.issuer,
        "IDP_SECRET_KEY": settings.secret_key,
        "IDP_CLIENT_SECRET_KEY": settings.client_secret_key,
        "IDP_DATABASE_URL": settings.database.url,
        "IDP_KEYS_DIR": settings.keys.dir,
        "IDP_MFA_ENCRYPTION_KEY": settings.mfa.encryption_key,
    })
    return env


def _wait_for(url: str, proc: subprocess.Popen, timeout: float = 30) -> requests.Response:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()[1]
        try:
            return requests.get(url, timeout=2)
        except requests.ConnectionError:
            time.sleep(0.2)
    raise AssertionError(f"nothing answered at {url}")


@pytest.fixture
def config_file(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text("[server]\nworkers = 2\nthreads = 2\ngraceful_timeout = 5\n")
    return path


def test_serve_answers_with_workers_and_stops_on_sigterm(app, settings, config_file):
    port = _free_port()
    issuer = f"http://127.0.0.1:{port}"
    env = _environ(settings.replace(issuer=issuer), config_file)
    proc = subprocess.Popen([sys.executable, "-m", "idp", "serve", "--bind", f"127.0.0.1:{port}"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        response = _wait_for(f"{issuer}/.well-known/openid-configuration", proc)
        assert response.status_code == 200
        assert response.json()["issuer"] == issuer
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, stderr
    assert stderr.count("Booting worker") == 2
    assert "Shutting down" in stderr


def test_serve_refuses_a_bad_configuration_naming_the_key(settings, tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[server]\nworkers = 0\n")
    result = subprocess.run([sys.executable, "-m", "idp", "serve"], env=_environ(settings, path),
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 1
    assert "server.workers: must be a positive whole number" in result.stderr
    assert "Traceback" not in result.stderr
