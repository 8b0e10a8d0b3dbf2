"""Pooled PostgreSQL connections are checked only after being idle; a dead idle one is replaced unseen."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from idp.extensions import db


@pytest.fixture
def postgres(app):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only (IDP_TEST_DATABASE_URL)")
    return db.engine


def backend_pid() -> int:
    with db.engine.connect() as conn:
        return conn.execute(sa.text("SELECT pg_backend_pid()")).scalar()


def test_busy_connection_is_not_pinged(postgres):
    backend_pid()
    statements = []
    sa.event.listen(postgres, "before_cursor_execute", lambda *a: statements.append(a[2]))
    with postgres.connect() as conn:
        conn.execute(sa.text("SELECT 2"))
    assert statements == ["SELECT 2"]


def test_idle_connection_cut_by_the_server_is_replaced(postgres, monkeypatch):
    db.session.remove()
    postgres.dispose()
    victim = backend_pid()  # now idle in the pool
    killer = sa.create_engine(postgres.url, poolclass=sa.pool.NullPool)
    with killer.connect() as other:  # not from the pool, which would hand out the victim itself
        other.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": victim})
    killer.dispose()
    real = time.monotonic
    monkeypatch.setattr(time, "monotonic", lambda: real() + 60)  # it has been idle for a minute
    assert backend_pid() != victim
