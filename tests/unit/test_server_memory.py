"""Worker memory: glibc malloc kept to one arena, and the server settings the app sizes its password checks by."""

from __future__ import annotations

import platform

import pytest

from idp.config import Settings
from idp.server import _post_fork, gunicorn_options, limit_malloc_arenas


def test_gunicorn_runs_the_arena_limit_in_every_worker_after_fork():
    assert gunicorn_options(Settings())["post_fork"] is _post_fork


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc only")
def test_arena_limit_is_applied_on_glibc():
    assert limit_malloc_arenas() is True


def test_workers_given_on_the_command_line_reach_the_app_settings():
    """``idp serve --workers N``: the app shares the cores between N workers (``passwords.concurrency`` 0)."""
    from idp.server import IdpServer

    assert IdpServer(Settings(), workers=5).settings.server.workers == 5
    assert IdpServer(Settings()).settings.server.workers == Settings().server.workers
