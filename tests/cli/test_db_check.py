"""``idp db check`` (after a restore, before serving): database reachable, migrations at head, signing keys load;
exit 1 with a message naming each problem otherwise."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import sqlalchemy as sa

from idp import create_app
from idp.cli import cli
from idp.db import resolve_database_url
from idp.extensions import db
from idp.migrations import upgrade
from idp.oidc.keys import ensure_keys
from idp.ops.health import head_revision


@pytest.fixture
def migrated(app):
    db.session.remove()
    db.metadata.drop_all(db.engine)
    upgrade(resolve_database_url(app.config["IDP_SETTINGS"].database.url))


def _check(app):
    return app.test_cli_runner().invoke(cli, args=["db", "check"])


def test_db_check_passes_on_a_migrated_database_with_keys(app, migrated):
    result = _check(app)
    assert result.exit_code == 0, result.output
    assert f"ok: database reachable at this release's revision {head_revision()} or later" in result.output
    assert "note:" not in result.output


def test_db_check_fails_on_a_database_behind_the_migrations(app, migrated):
    with db.engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '0004'"))
    result = _check(app)
    assert result.exit_code == 1
    assert f"migrations: at 0004, expected {head_revision()} (run idp db upgrade)" in result.output


def test_db_check_passes_with_a_note_on_a_database_a_newer_release_migrated(app, migrated):
    """The previous release must still start (ExecStartPre) while a rolling upgrade is under way."""
    with db.engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = 'f00dfeed0001'"))
    result = _check(app)
    assert result.exit_code == 0, result.output
    assert f"note: database at f00dfeed0001, newer than this release ({head_revision()})" in result.output


def test_db_check_fails_on_an_unmigrated_database(app):
    result = _check(app)
    assert result.exit_code == 1 and "migrations: not migrated" in result.output


def test_db_check_fails_when_the_database_does_not_answer(settings):
    other = create_app(settings.replace(database={"url": "postgresql+psycopg://idp@127.0.0.1:1/idp?connect_timeout=2"}))
    result = _check(other)
    assert result.exit_code == 1 and "database: not reachable" in result.output


def test_db_check_fails_without_a_signing_key(app, migrated, settings, tmp_path):
    (tmp_path / "empty").mkdir()
    other = create_app(settings.replace(keys={"dir": str(tmp_path / "empty")}))
    with other.app_context():  # the command runs in the innermost app context
        result = _check(other)
        db.engine.dispose()
    assert result.exit_code == 1 and "signing keys: no RS256 signing key" in result.output


def test_db_check_names_a_restored_key_with_loose_permissions_without_a_traceback(app, migrated, settings, tmp_path):
    keys = tmp_path / "restored-keys"
    (key,) = [k for k in ensure_keys(keys) if k.name.startswith("rs256")]
    key.chmod(0o644)
    config = tmp_path / "config.toml"
    config.write_text("")
    env = dict(os.environ, IDP_CONFIG=str(config), IDP_SECRET_KEY=settings.secret_key,
               IDP_CLIENT_SECRET_KEY=settings.client_secret_key, IDP_DATABASE_URL=settings.database.url,
               IDP_KEYS_DIR=str(keys), IDP_MFA_ENCRYPTION_KEY=settings.mfa.encryption_key)
    result = subprocess.run([sys.executable, "-m", "idp", "db", "check"], env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 1
    assert "readable by group or others; run `chmod 600" in result.stderr
    assert "Traceback" not in result.stderr
    key.chmod(0o600)
    result = subprocess.run([sys.executable, "-m", "idp", "db", "check"], env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
