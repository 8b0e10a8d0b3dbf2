"""The benchmark's own database: migrated from empty, then clients and users made through idp's service layer.

Users get a password (argon2id at the configured parameters) and a confirmed authenticator app. Two shortcuts keep
seeding thousands of users to seconds, and neither changes what a login costs:

- the password is hashed once and that real argon2id hash is stored for every user (``create_user`` asks the app's
  hasher; here the hasher remembers the hash of the one benchmark password). Each login still verifies a full hash.
- the app is created with ``start_totp`` (the enrolment service) and marked confirmed directly: the enrolment's
  confirm step would also make ten argon2id recovery-code hashes and an email notice per user.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa

from idp import create_app
from idp.account.service import start_totp
from idp.config import Settings
from idp.extensions import db
from idp.migrations import upgrade
from idp.db import resolve_database_url
from idp.oidc.registration import create_client, update_client
from idp.security.crypto import decrypt
from idp.users import create_user
from idp import clock

PASSWORD = "benchmark passphrase for load tests"
REDIRECT_URI = "http://127.0.0.1:9/callback"
#: access tokens must outlive the run (userinfo scenario); refresh tokens likewise
TOKEN_LIFETIME = 86400


class _OnePasswordHasher:
    """The app's hasher, hashing the benchmark password once (a real argon2id hash at the configured parameters)."""

    def __init__(self, inner):
        self._inner = inner
        self._hashes: dict[str, str] = {}

    def hash(self, password: str) -> str:
        if password not in self._hashes:
            self._hashes[password] = self._inner.hash(password)
        return self._hashes[password]

    def __getattr__(self, name):
        return getattr(self._inner, name)


def reset_database(url: str) -> None:
    """An empty database at the newest revision (PostgreSQL: the public schema is dropped and made again)."""
    engine = sa.create_engine(resolve_database_url(url))
    try:
        if engine.dialect.name == "postgresql":
            with engine.begin() as conn:
                conn.execute(sa.text("DROP SCHEMA public CASCADE"))
                conn.execute(sa.text("CREATE SCHEMA public"))
    finally:
        engine.dispose()
    upgrade(resolve_database_url(url))


def settle(url: str) -> None:
    """After seeding: statistics for the planner and a checkpoint now, not autovacuum and a checkpoint during the run."""
    engine = sa.create_engine(resolve_database_url(url))
    try:
        if engine.dialect.name == "postgresql":
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(sa.text("VACUUM ANALYZE"))
                conn.execute(sa.text("CHECKPOINT"))
        else:
            with engine.begin() as conn:
                conn.execute(sa.text("ANALYZE"))
    finally:
        engine.dispose()


def seed(settings: Settings, login_users: int, prime_users: int) -> dict:
    """Clients and users; returns what the load generator needs (client ids and secrets, users with TOTP keys)."""
    app = create_app(settings)
    logging.getLogger("idp").setLevel(logging.WARNING)  # not one audit line per seeded user
    app.extensions["idp.passwords"] = _OnePasswordHasher(app.extensions["idp.passwords"])
    with app.app_context():
        web, web_secret = create_client(name="Bench panel", redirect_uris=[REDIRECT_URI], trusted=True)
        update_client(web, access_token_lifetime=TOKEN_LIFETIME, refresh_token_lifetime=TOKEN_LIFETIME)
        machine, machine_secret = create_client(
            name="Bench machine", redirect_uris=[REDIRECT_URI],
            grant_types=["authorization_code", "refresh_token", "client_credentials"])
        update_client(machine, scope="openid profile")
        db.session.commit()
        users = [_user(f"login{n:05d}") for n in range(login_users)]
        db.session.commit()
        primers = [_user(f"prime{n:05d}") for n in range(prime_users)]
        db.session.commit()
        result = {
            "web": {"client_id": web.client_id, "client_secret": web_secret, "redirect_uri": REDIRECT_URI},
            "machine": {"client_id": machine.client_id, "client_secret": machine_secret, "scope": "profile"},
            "password": PASSWORD,
            "login_users": users,
            "prime_users": primers,
        }
        db.session.remove()
        db.engine.dispose()
    return result


def _user(username: str) -> dict:
    user = create_user(account="Bench reseller", username=username, email=f"{username}@bench.example",
                       password=PASSWORD)
    credential = start_totp(user)
    credential.confirmed_at = clock.now()
    user.default_method = "totp"
    if len(db.session.new) > 200:
        db.session.flush()
    return {"username": username, "totp": decrypt(credential.secret_encrypted)}
