"""Shared fixtures: settings, app and database (SQLite, or IDP_TEST_DATABASE_URL), factories and protocol helpers.

Each test gets a clean schema. Passwords use cheap argon2id parameters here; the production parameters have a
test of their own.
"""

from __future__ import annotations

import os
import secrets

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from flask.globals import _cv_app
from flask.testing import FlaskClient

from idp import create_app
from idp.config import Settings
from idp.extensions import db
from idp.oidc.keys import ensure_keys
from idp.oidc.registration import create_client
from idp.users import create_user

from helpers import TEST_PASSWORD, AuthorizationRequest, Browser, reset_schema


FAST_PASSWORDS = {"time_cost": 1, "memory_cost": 1024, "parallelism": 1}


def pytest_configure(config):
    config.addinivalue_line("markers", "settings(**overrides): change Settings for one test")


@pytest.fixture(scope="session")
def keys_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("keys")
    ensure_keys(path)
    return path


@pytest.fixture
def database_url(tmp_path):
    return os.environ.get("IDP_TEST_DATABASE_URL") or f"sqlite:///{tmp_path}/idp.sqlite3"


@pytest.fixture
def settings(request, keys_dir, database_url) -> Settings:
    base = Settings(
        issuer="http://127.0.0.1:8000",
        secret_key=secrets.token_urlsafe(32),
        client_secret_key=secrets.token_urlsafe(32),
    ).replace(database={"url": database_url}, keys={"dir": str(keys_dir)}, passwords=FAST_PASSWORDS,
              mfa={"encryption_key": Fernet.generate_key().decode()})
    marker = request.node.get_closest_marker("settings")
    return base.replace(**marker.kwargs) if marker else base


class RequestScopedClient(FlaskClient):
    """A test client whose every request gets a fresh ``g``, as in production, although the test holds one app
    context for its database work (Flask reuses a pushed app context, and with it ``g``, for test requests)."""

    def open(self, *args, **kwargs):
        ctx = _cv_app.get(None)
        if ctx is not None:
            ctx.g = self.application.app_ctx_globals_class()
        return super().open(*args, **kwargs)


@pytest.fixture
def app(settings):
    app = create_app(settings)
    app.config["TESTING"] = True
    app.test_client_class = RequestScopedClient
    with app.app_context():
        reset_schema()
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def make_user(app):
    counter = iter(range(1, 10_000))

    def make(username: str | None = None, password: str = TEST_PASSWORD, account: str = "Acme Reseller", **kwargs):
        n = next(counter)
        user = create_user(account=account, username=username or f"user{n}", email=f"user{n}@acme.example",
                           password=password, **kwargs)
        db.session.commit()
        return user

    return make


@pytest.fixture
def make_client(app):
    def make(redirect_uri: str = "http://127.0.0.1:9000/callback", public: bool = False, trusted: bool = True,
             **kwargs):
        client, secret = create_client(name=kwargs.pop("name", "Test panel"), redirect_uris=[redirect_uri],
                                       public=public, trusted=trusted, **kwargs)
        db.session.commit()
        client.secret = secret
        return client

    return make


@pytest.fixture
def user(make_user):
    return make_user("dana")


@pytest.fixture
def rp(make_client):
    """A trusted confidential client, like RCP and CRI."""
    return make_client()


@pytest.fixture
def browser(client):
    return Browser(client)


@pytest.fixture
def authz(rp):
    return AuthorizationRequest(rp)


class QueryLog:
    """The SQL statements the app sends while counting (``with queries.counting(): ...``), in order."""

    def __init__(self):
        self.statements: list[str] = []
        self.active = False

    def counting(self):
        log = self

        class _Counting:
            def __enter__(self):
                log.statements.clear()
                log.active = True
                return log

            def __exit__(self, *exc):
                log.active = False

        return _Counting()

    def __len__(self) -> int:
        return len(self.statements)

    def record(self, conn, cursor, statement, parameters, context, executemany):
        if self.active:
            self.statements.append(statement)


@pytest.fixture
def queries(app):
    """Counts the SQL statements sent to the database (an engine event: every query, ORM or Core, commit not)."""
    log = QueryLog()
    sa.event.listen(db.engine, "before_cursor_execute", log.record)
    yield log
    sa.event.remove(db.engine, "before_cursor_execute", log.record)
