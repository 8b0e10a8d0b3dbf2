"""Alembic migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from idp.db import resolve_database_url
from idp.extensions import db
from idp.migrations import upgrade


def test_upgrade_from_empty_matches_the_models(app):
    db.session.remove()
    db.metadata.drop_all(db.engine)
    upgrade(resolve_database_url(app.config["IDP_SETTINGS"].database.url))
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), db.metadata)
        assert diff == []
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == "0009"


def test_upgrade_twice_is_harmless(app):
    db.session.remove()
    db.metadata.drop_all(db.engine)
    url = resolve_database_url(app.config["IDP_SETTINGS"].database.url)
    upgrade(url)
    upgrade(url)
