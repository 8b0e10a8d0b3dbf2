"""The production server: idp's app under gunicorn, configured from ``[server]``.

The master loads and checks the settings once (a bad configuration stops it before any worker starts); each worker
builds its own app after the fork, so no database connection or key ring is shared between processes. SIGTERM stops
gracefully: workers finish their requests within ``server.graceful_timeout`` seconds. With ``[metrics]`` enabled,
the master makes a fresh ``PROMETHEUS_MULTIPROC_DIR`` before forking and tidies after workers (``ops.metrics``).

Each worker keeps glibc's malloc to one arena (``post_fork``). argon2id takes 19 MiB per password check; with the
default of one arena per thread, every gthread thread kept its own 19 MiB after its first login (workers with four
threads grew from ~90 MB to ~155-172 MB in ``make bench``; with one arena, 97-135 MB). The buffers are reused and
mostly given back, at no measurable CPU cost (Python's small objects do not use malloc's arenas). How many hashes a
worker computes at once is bounded too (``passwords.concurrency``, security/passwords.py).
"""

from __future__ import annotations

import ctypes
import ctypes.util
from typing import Any

from gunicorn.app.base import BaseApplication

from .config import Settings


def gunicorn_options(settings: Settings, **overrides: Any) -> dict[str, Any]:
    s = settings.server
    options = {
        "bind": [f"{_host(s.host)}:{s.port}"],
        "workers": s.workers,
        "worker_class": "gthread",
        "threads": s.threads,
        "timeout": s.worker_timeout,
        "graceful_timeout": s.graceful_timeout,
        "keepalive": s.keepalive,
        "max_requests": s.max_requests,
        "max_requests_jitter": s.max_requests // 10 if s.max_requests else 0,
        "accesslog": "-" if s.access_log else None,
        "errorlog": "-",
        "proc_name": "idp",
        # Forwarded headers are handled by the app's ProxyFix with a configured number of hops, not by gunicorn.
        "forwarded_allow_ips": "",
        "post_fork": _post_fork,
    }
    if settings.metrics.enabled:
        from .ops.metrics import mark_worker_dead, remove_multiprocess_dir

        options.update(child_exit=mark_worker_dead, on_exit=remove_multiprocess_dir)
    options.update({k: v for k, v in overrides.items() if v is not None})
    return options


M_ARENA_MAX = -8  # glibc malloc.h


def limit_malloc_arenas(arenas: int = 1) -> bool:
    """glibc only: ``mallopt(M_ARENA_MAX, arenas)``; False (and nothing done) with another C library."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"))
        libc.gnu_get_libc_version  # noqa: B018 - present in glibc only
    except (OSError, AttributeError, TypeError):
        return False
    return libc.mallopt(M_ARENA_MAX, arenas) == 1


def _post_fork(server, worker) -> None:
    limit_malloc_arenas()


def _host(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


class IdpServer(BaseApplication):
    """gunicorn's application for idp: options from settings, one app per worker."""

    def __init__(self, settings: Settings, **overrides: Any):
        if overrides.get("workers"):  # the app shares the cores between the workers (passwords.concurrency)
            settings = settings.replace(server={"workers": overrides["workers"]})
        self.settings = settings
        self.options = gunicorn_options(settings, **overrides)
        if settings.metrics.enabled:
            from .ops.metrics import prepare_multiprocess_dir

            prepare_multiprocess_dir()
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            if key in self.cfg.settings and value is not None:
                self.cfg.set(key, value)

    def load(self):
        from .app import create_app

        return create_app(self.settings)
