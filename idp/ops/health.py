"""Readiness checks: the database answers, its schema is at the newest migration, Redis (when configured) answers,
the signing keys load. ``/readyz`` and ``idp db check`` both use them.

Each check returns None when fine, else a short reason safe to show; the exception itself goes to the log only.
"""

from __future__ import annotations

import functools
import logging

import sqlalchemy as sa
from alembic.script import ScriptDirectory
from flask import current_app

from ..extensions import db
from ..migrations import config_for

log = logging.getLogger(__name__)


@functools.cache
def head_revision() -> str:
    """The newest migration shipped with this code (read once per process: it changes only with the code)."""
    return ScriptDirectory.from_config(config_for("sqlite://")).get_current_head()


def check_database() -> str | None:
    try:
        with db.engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except Exception as exc:  # any driver error means "not reachable" here
        log.warning("readiness: database not reachable: %s", type(exc).__name__)
        return "not reachable"
    return None


def check_migrations() -> str | None:
    try:
        with db.engine.connect() as conn:
            current = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars().all()
    except Exception as exc:
        log.warning("readiness: no migration version (%s); run `idp db upgrade`", type(exc).__name__)
        return "not migrated (run idp db upgrade)"
    if current != [head_revision()]:
        return f"at {', '.join(current) or 'none'}, expected {head_revision()} (run idp db upgrade)"
    return None


def check_redis() -> str | None:
    from .redis_client import redis_client

    client = redis_client()
    if client is None:
        return None
    try:
        client.ping()
    except Exception as exc:
        log.warning("readiness: redis not reachable: %s", type(exc).__name__)
        return "not reachable"
    return None


def check_keys() -> str | None:
    from ..oidc.keys import KeysError, load_keyring

    settings = current_app.config["IDP_SETTINGS"]
    try:
        ring = load_keyring(settings.keys.dir)
        ring.signing_key(settings.keys.signing_alg)
    except KeysError as exc:
        return str(exc)
    return None


def readiness() -> dict[str, str]:
    """What is not ready, by name (empty: ready). The migrations are asked about only when the database answers."""
    failed = {"database": check_database()}
    if failed["database"] is None:
        failed["migrations"] = check_migrations()
    failed["redis"] = check_redis()
    return {name: reason for name, reason in failed.items() if reason is not None}
