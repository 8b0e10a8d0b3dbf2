"""Starting the servers under test as production does, and reading their processes' CPU time and memory."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import requests

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def database_cpu_seconds() -> float | None:
    """User + system time of the local PostgreSQL server: the postmaster (with the backends it reaped) and its live
    processes. None when none runs here (SQLite's time is the workers' own)."""
    total, found = 0.0, False
    for proc in psutil.process_iter(["name"]):
        if proc.info["name"] != "postgres":
            continue
        try:
            t = proc.cpu_times()
            parent = proc.parent()
        except psutil.Error:
            continue
        found = True
        total += t.user + t.system
        if parent is None or parent.name() != "postgres":  # the postmaster: its reaped children too
            total += t.children_user + t.children_system
    return total if found else None


class Server:
    """A gunicorn master (``idp serve`` or the stack-ceiling server) and its workers."""

    def __init__(self, argv: list[str], env: dict[str, str], base_url: str, ready_path: str, log_path: Path):
        self.base_url = base_url
        self.log = open(log_path, "w")
        self.proc = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT)
        try:
            self._wait_ready(ready_path)
        except BaseException:
            self.stop()
            raise
        self.master = psutil.Process(self.proc.pid)

    def _wait_ready(self, path: str, timeout: float = 120) -> None:
        """Until every worker has built its app: the master accepts connections before its workers answer."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}; see {self.log.name}")
            try:
                if requests.get(self.base_url + path, timeout=30).status_code == 200:
                    return
            except (requests.ConnectionError, requests.Timeout):
                pass
            time.sleep(0.2)
        raise RuntimeError(f"nothing answered at {self.base_url}{path}")

    def workers(self) -> list[psutil.Process]:
        return self.master.children()

    def cpu_seconds(self) -> float:
        """Master and workers, including workers that ended (reaped by the master: its children times)."""
        t = self.master.cpu_times()
        total = t.user + t.system + t.children_user + t.children_system
        for worker in self.workers():
            try:
                w = worker.cpu_times()
                total += w.user + w.system
            except psutil.NoSuchProcess:
                pass
        return total

    def rss_mb(self) -> list[float]:
        return [round(w.memory_info().rss / 2**20, 1) for w in self.workers()]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def idp_serve(env: dict[str, str], port: int, workers: int, log_path: Path) -> Server:
    argv = [sys.executable, "-m", "idp", "serve", "--bind", f"127.0.0.1:{port}", "--workers", str(workers)]
    return Server(argv, env, f"http://127.0.0.1:{port}", "/.well-known/openid-configuration", log_path)


def stack_server(env: dict[str, str], port: int, workers: int, log_path: Path) -> Server:
    argv = [sys.executable, "-m", "bench.stack_server", "--bind", f"127.0.0.1:{port}", "--workers", str(workers)]
    env = {**env, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))}
    return Server(argv, env, f"http://127.0.0.1:{port}", "/bench/hello", log_path)
