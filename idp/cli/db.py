"""``idp db upgrade``: bring the configured database to the newest schema with Alembic; ``idp db check``: verify
that the database answers at the newest schema and the signing keys load (after a restore, before serving)."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from ..db import resolve_database_url
from ..migrations import upgrade


@click.group("db")
def db_group():
    """Database schema."""


@db_group.command("upgrade")
@click.option("--revision", default="head", show_default=True)
@with_appcontext
def upgrade_command(revision: str):
    """Apply migrations up to REVISION."""
    url = resolve_database_url(current_app.config["IDP_SETTINGS"].database.url)
    upgrade(url, revision)
    click.echo(f"database is at revision {revision}")


@db_group.command("check")
@with_appcontext
def check_command():
    """Check the database answers, is at the newest migration, and the signing keys load; exit 1 otherwise.

    A database a later release already migrated passes with a note: during a rolling upgrade the previous release
    must still be able to (re)start on it.
    """
    from ..ops import health

    failed = [f"{name}: {reason}" for name, reason in health.readiness(redis=False, keys=True).items()]
    if failed:
        raise click.ClickException("not ready:\n  " + "\n  ".join(failed))
    if (newer := health.check_migrations()) is not None:
        click.echo(f"note: database {newer}; a later release migrated it, and this one runs on it (additive rule)")
    click.echo(f"ok: database reachable at this release's revision {health.head_revision()} or later, "
               "signing keys load")
