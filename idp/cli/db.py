"""``idp db upgrade``: bring the configured database to the newest schema with Alembic."""

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
