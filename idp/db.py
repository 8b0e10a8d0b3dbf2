"""Database plumbing: the declarative Base with stable constraint names, engine pragmas, and UTC-aware timestamps.

SQLite is the embedded default: WAL journal, foreign keys on, and every transaction opened with BEGIN IMMEDIATE so
that single-use items (codes, refresh tokens) are consumed by exactly one writer. PostgreSQL runs at READ COMMITTED,
where ``UPDATE ... WHERE consumed_at IS NULL`` has the same one-winner property. A pooled PostgreSQL connection is
checked before use only when it has been idle for a while (``ping_idle_connections``), not on every request.
"""

from __future__ import annotations

import sqlite3
import time
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, registry

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(sa.types.TypeDecorator):
    """Stores timezone-aware UTC datetimes; SQLite returns naive ones, which are read back as UTC."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given; use idp.clock.now()")
        return value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    registry = registry(
        metadata=sa.MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={datetime: UTCDateTime},
    )


def configure_sqlite(engine: sa.Engine, busy_timeout: int) -> None:
    """Pragmas and immediate transactions for a SQLite engine; a no-op for other databases."""
    if engine.dialect.name != "sqlite":
        return

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record):
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection):
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def engine_options(database) -> dict:
    """SQLAlchemy engine options from ``[database]``: for PostgreSQL a bounded pool, connect and statement timeouts.

    Every wait on the database is bounded, so an unreachable database fails a request (503) instead of hanging it:
    ``pool_timeout`` for a free connection, ``connect_timeout`` for a new one (and, as libpq's ``tcp_user_timeout``,
    for sent data left unacknowledged), ``statement_timeout`` for a query. With ``pool_pre_ping`` a connection idle
    for a while is checked before use (``ping_idle_connections``, installed by the app) and replaced if a database
    restart broke it; a disconnect seen mid-request invalidates the whole pool, so idp recovers without a restart. SQLite keeps SQLAlchemy's defaults.
    """
    if not database.url.startswith("postgresql"):
        return {}
    options = f"-c statement_timeout={database.statement_timeout * 1000}"
    return {
        "pool_size": database.pool_size,
        "max_overflow": database.max_overflow,
        "pool_timeout": database.pool_timeout,
        "pool_pre_ping": False,  # ping_idle_connections instead: no round trip on a busy pool
        "connect_args": {"connect_timeout": database.connect_timeout, "options": options,
                         "tcp_user_timeout": database.connect_timeout * 1000, "application_name": "idp"},
    }


def ping_idle_connections(engine: sa.Engine, idle_seconds: float = 10) -> None:
    """Before handing out a pooled connection idle for more than ``idle_seconds``, check it with ``SELECT 1``; a
    dead one (database restarted, idle connection cut by a firewall) is replaced before the request sees it.

    SQLAlchemy's ``pool_pre_ping`` does the same on every checkout: one more round trip per request (a tenth of
    the token endpoint's queries, measured by ``make bench``). A busy connection was just used, so it is not
    pinged; if the database dies under it, the request fails and the pool drops the connection, as it would
    after a ping that raced the failure.
    """

    @sa.event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection, record):
        record.info["idp_idle_since"] = time.monotonic()

    @sa.event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection, record, _proxy):
        since = record.info.get("idp_idle_since")
        if since is None or time.monotonic() - since <= idle_seconds:
            return
        try:
            cursor = dbapi_connection.cursor()
            cursor.execute("SELECT 1")
            cursor.close()
            dbapi_connection.rollback()
        except Exception as exc:  # any driver error: the pool retries with a new connection
            raise sa.exc.DisconnectionError(str(exc)) from exc


def resolve_database_url(url: str) -> str:
    """Make a relative SQLite path absolute against the working directory (where ``idp`` is run from)."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and ":memory:" not in url:
        from pathlib import Path

        path = Path(url[len(prefix):]).resolve()
        path.parent.mkdir(parents=True, exist_ok=True)
        return prefix + str(path)
    return url
