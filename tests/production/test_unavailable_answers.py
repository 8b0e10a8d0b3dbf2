"""A database that cannot serve is a 503 with Retry-After (never a 500), shaped for who asked: a page for browsers,
``temporarily_unavailable`` JSON on the token and userinfo endpoints. And the ``[database]`` pool settings reach the
engine. These run on SQLite too (the failure is simulated); the real outage is in test_database_outage.py.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import sqlalchemy.exc

from idp.config import ConfigError, DatabaseSettings, settings_from_mapping
from idp.db import engine_options
from idp.extensions import db

REFUSED = sqlalchemy.exc.OperationalError("SELECT 1", {}, Exception("connection refused"))


def refuse(*_args, **_kwargs):
    raise REFUSED


def assert_unavailable_page(response) -> None:
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert response.mimetype == "text/html"
    assert "temporarily unavailable" in response.get_data(as_text=True)


def test_a_page_for_a_signed_in_browser_is_503_without_asking_the_database_again(client, monkeypatch):
    monkeypatch.setattr("idp.auth.sessions._load", refuse)  # the session lookup, also made by the page's template
    client.set_cookie("idp_session", "x" * 43)
    assert_unavailable_page(client.get("/"))


def test_the_token_endpoint_answers_temporarily_unavailable_json(client, monkeypatch):
    monkeypatch.setattr(db.session, "scalar", refuse)  # the client lookup is the endpoint's first query
    response = client.post("/token", data={"grant_type": "refresh_token", "refresh_token": "x" * 43},
                           headers={"Authorization": "Basic eDp5"})
    assert response.status_code == 503
    assert response.json == {"error": "temporarily_unavailable",
                             "error_description": "The service is temporarily unavailable. Please try again in a "
                                                  "moment."}
    assert response.headers["Retry-After"] == "5"
    assert response.headers["Cache-Control"] == "no-store"


def test_userinfo_answers_temporarily_unavailable_json(client, monkeypatch):
    monkeypatch.setattr("idp.oidc.bearer.find_bearer_token", refuse)
    response = client.get("/userinfo", headers={"Authorization": "Bearer " + "x" * 43})
    assert response.status_code == 503 and response.json["error"] == "temporarily_unavailable"


@pytest.mark.settings(database={"retry_after": 17})
def test_a_full_pool_after_the_view_is_503_with_the_configured_hint(app, client):
    @app.after_request
    def _pool_exhausted(response):
        raise sqlalchemy.exc.TimeoutError("QueuePool limit reached")

    app.config["PROPAGATE_EXCEPTIONS"] = False  # as in production: Flask hands it to the 500 handler

    response = client.get("/login")
    assert response.status_code == 503 and response.headers["Retry-After"] == "17"


def test_an_integrity_error_is_still_a_500(client, monkeypatch):
    def broken(*_args, **_kwargs):
        raise sqlalchemy.exc.IntegrityError("INSERT", {}, Exception("duplicate key"))

    monkeypatch.setattr(db.session, "scalar", broken)
    response = client.post("/token", data={"grant_type": "refresh_token", "refresh_token": "x"},
                           headers={"Authorization": "Basic eDp5"})
    assert response.status_code == 500 and response.json["error"] == "server_error"
    assert "Retry-After" not in response.headers


def test_postgresql_gets_a_bounded_pool_from_the_database_settings():
    database = DatabaseSettings(url="postgresql+psycopg://idp@db/idp", pool_size=8, max_overflow=0, pool_timeout=3,
                                pool_pre_ping=True, connect_timeout=4, statement_timeout=12)
    options = engine_options(database)
    assert {k: options[k] for k in ("pool_size", "max_overflow", "pool_timeout", "pool_pre_ping")} == {
        "pool_size": 8, "max_overflow": 0, "pool_timeout": 3, "pool_pre_ping": False}  # idle connections only
    assert options["connect_args"]["connect_timeout"] == 4
    assert options["connect_args"]["options"] == "-c statement_timeout=12000"
    assert engine_options(SimpleNamespace(url="sqlite:///idp.sqlite3")) == {}


@pytest.mark.parametrize("key, value", [("pool_size", 0), ("pool_timeout", 0), ("connect_timeout", 0),
                                        ("retry_after", 0), ("max_overflow", -1)])
def test_pool_settings_must_be_usable(key, value):
    with pytest.raises(ConfigError, match=f"database.{key}"):
        settings_from_mapping({"demo": True, "database": {key: value}})


def test_no_overflow_and_no_statement_limit_are_allowed():
    settings = settings_from_mapping({"demo": True, "database": {"max_overflow": 0, "statement_timeout": 0}})
    assert settings.database.max_overflow == 0 and settings.database.statement_timeout == 0
