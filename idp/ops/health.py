"""Readiness checks: the database answers, its schema is at the newest migration, Redis (when configured) answers,
the signing keys load. ``/readyz`` and ``idp db check`` both use them.

Each check returns None when fine, else a short reason safe to show; the exception itself goes to the log only.
"""

from __future__ import annotations

import functools
import logging

import sqlalchemy as sa
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from flask import current_app

from ..extensions import db
from ..migrations import config_for

log = logging.getLogger(__name__)


@functools.cache
def _scripts() -> ScriptDirectory:
    """The migrations shipped with this code (read once per process: they change only with the code)."""
    return ScriptDirectory.from_config(config_for("sqlite://"))


def head_revision() -> str:
    return _scripts().get_current_head()


def is_newer_than_this_code(revision: str) -> bool:
    """A revision this code does not know: a later release migrated the database already (``idp db upgrade`` runs
    before the new code is rolled out, and migrations are additive, so this code still works on it)."""
    try:
        return _scripts().get_revision(revision) is None
    except CommandError:  # "Can't locate revision"
        return True


def check_database() -> str | None:
    try:
        with db.engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except Exception as exc:  # any driver error means "not reachable" here
        log.warning("readiness: database not reachable: %s", type(exc).__name__)
        return "not reachable"
    return None


def check_migrations(allow_newer: bool = False) -> str | None:
    """None at this code's head (or, with ``allow_newer``, at a later release's revision), else the reason."""
    try:
        with db.engine.connect() as conn:
            current = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars().all()
    except Exception as exc:
        log.warning("readiness: no migration version (%s); run `idp db upgrade`", type(exc).__name__)
        return "not migrated (run idp db upgrade)"
    if current == [head_revision()]:
        return None
    if len(current) == 1 and is_newer_than_this_code(current[0]):
        return None if allow_newer else f"at {current[0]}, newer than this release ({head_revision()})"
    return f"at {', '.join(current) or 'none'}, expected {head_revision()} (run idp db upgrade)"


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


def readiness(*, redis: bool = True, keys: bool = False) -> dict[str, str]:
    """What is not ready, by name (empty: ready). The migrations are asked about only when the database answers; a
    database already migrated by the next release is fine (rolling upgrades, docs/deployment.md). ``/readyz`` asks
    about Redis; ``idp db check`` about the signing keys instead."""
    failed = {"database": check_database()}
    if failed["database"] is None:
        failed["migrations"] = check_migrations(allow_newer=True)
    if redis:
        failed["redis"] = check_redis()
    if keys:
        failed["signing keys"] = check_keys()
    return {name: reason for name, reason in failed.items() if reason is not None}
