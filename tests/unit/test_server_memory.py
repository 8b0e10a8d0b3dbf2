"""Workers keep glibc's malloc to one arena, so argon2id's 19 MiB buffers are not kept once per thread."""

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
