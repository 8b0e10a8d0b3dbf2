"""/healthz (the process answers) and /readyz (database at the newest migration, Redis if configured): cheap, no
cookies, 503 with a JSON body naming what failed."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from idp.db import resolve_database_url
from idp.extensions import db
from idp.migrations import upgrade
from idp.ops.health import head_revision

from ops_helpers import CLOSED_PORT_URL, REDIS_TEST_URL, redis_or_skip


@pytest.fixture
def migrated(app):
    """The schema built by the migrations (the test schema is made without them)."""
    db.session.remove()
    db.metadata.drop_all(db.engine)
    upgrade(resolve_database_url(app.config["IDP_SETTINGS"].database.url))


def _no_cookies(response) -> bool:
    return "Set-Cookie" not in response.headers


def test_healthz_answers_without_touching_the_database(client):
    with db.engine.connect():  # (warm the pool), then make every new query fail
        pass
    db.engine.dispose()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(db.engine, "connect", lambda *a, **k: pytest.fail("healthz used the database"))
        response = client.get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}
    assert _no_cookies(response)


def test_readyz_is_ok_at_the_newest_migration(client, migrated):
    response = client.get("/readyz")
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"status": "ok"}
    assert _no_cookies(response)


def test_readyz_names_the_migrations_when_the_schema_is_not_at_head(client, migrated):
    with db.engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '0005'"))
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "unavailable", "failed": {
        "migrations": f"at 0005, expected {head_revision()} (run idp db upgrade)"}}


def test_readyz_is_ok_on_a_database_the_next_release_already_migrated(client, migrated):
    """Rolling upgrade: ``idp db upgrade`` of the next release runs while this one serves; this one stays ready."""
    with db.engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = 'f00dfeed0001'"))
    assert client.get("/readyz").status_code == 200


def test_readyz_names_the_migrations_when_the_database_was_never_migrated(client):
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["failed"] == {"migrations": "not migrated (run idp db upgrade)"}


@pytest.mark.settings(database={"url": "postgresql+psycopg://idp@127.0.0.1:1/idp?connect_timeout=2"})
def test_readyz_names_the_database_when_it_does_not_answer(settings):
    from idp import create_app

    app = create_app(settings)
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "unavailable", "failed": {"database": "not reachable"}}
    assert app.test_client().get("/healthz").status_code == 200


@pytest.mark.settings(redis={"url": CLOSED_PORT_URL})
def test_readyz_names_redis_when_it_is_configured_and_does_not_answer(client, migrated):
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["failed"] == {"redis": "not reachable"}


@pytest.mark.settings(redis={"url": REDIS_TEST_URL})
def test_readyz_is_ok_with_redis_answering(client, migrated):
    redis_or_skip()
    assert client.get("/readyz").status_code == 200


def test_health_pages_need_no_csrf_token_and_refuse_writes(client):
    assert client.post("/healthz").status_code == 405
    assert client.get("/readyz", headers={"Cookie": "idp_flow=garbage"}).status_code in (200, 503)
