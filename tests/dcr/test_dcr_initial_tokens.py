"""Initial access tokens (RFC 7591 3): issued by an administrator, stored as SHA-256, and refused with 401
``invalid_token`` (RFC 6750 3.1) when missing, unknown, expired, revoked or used up. One use registers exactly one
client, also when requests race (SQLite BEGIN IMMEDIATE, PostgreSQL READ COMMITTED)."""

from __future__ import annotations

import json
from datetime import timedelta
from unittest import mock

import pytest
import sqlalchemy as sa

from dcr_helpers import METADATA, assert_oauth_error, bearer, issue, register
from helpers import race
from idp import clock
from idp.cli import cli
from idp.extensions import db
from idp.models import AuditEvent, Client, RegistrationToken
from idp.security.tokens import token_checksum



def assert_invalid_token(response) -> None:
    assert_oauth_error(response, 401, "invalid_token")
    assert response.headers["WWW-Authenticate"].startswith("Bearer ")
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def client_count() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Client))


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer "}, {"Authorization": "Basic dXNlcjpwdw=="},
                                     bearer("not-a-token"), bearer("x" * 600)], ids=["none", "empty", "basic",
                                                                                      "unknown", "huge"])
def test_a_missing_or_unknown_token_is_refused(client, headers):
    assert_invalid_token(client.post("/register", json=METADATA, headers=headers))
    assert client_count() == 0


def test_an_expired_token_is_refused(client):
    token = issue(expires_in=60)
    with mock.patch("idp.clock.now", return_value=clock.now() + timedelta(seconds=61)):
        assert_invalid_token(register(client, token))
    assert client_count() == 0


def test_a_revoked_token_is_refused(client, initial_token):
    row = db.session.scalar(sa.select(RegistrationToken))
    row.revoked_at = clock.now()
    db.session.commit()
    assert_invalid_token(register(client, initial_token))


def test_a_token_registers_max_uses_clients_then_is_used_up(client):
    token = issue(max_uses=2)
    assert register(client, token).status_code == 201
    assert register(client, token).status_code == 201
    assert_invalid_token(register(client, token))
    assert client_count() == 2


def test_a_refused_registration_does_not_spend_a_use(client, initial_token):
    assert_oauth_error(register(client, initial_token, redirect_uris=["http://evil.example/cb"]), 400,
                       "invalid_redirect_uri")
    assert db.session.scalar(sa.select(RegistrationToken.uses)) == 0
    assert register(client, initial_token).status_code == 201
    assert db.session.scalar(sa.select(RegistrationToken.uses)) == 1


def test_a_refusal_is_audited(client):
    assert_invalid_token(register(client, "unknown"))
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.event == "client_registration_refused"))
    assert event.details["error"] == "invalid_token" and "unknown" not in json.dumps(event.details)


def race_registrations(app, n: int, token: str) -> list[int]:
    """POST /register from ``n`` clients at once with the same initial access token; sorted statuses."""
    browsers = [app.test_client() for _ in range(n)]
    results = race(app, browsers, lambda http: register(http, token, client_name=f"Racer {browsers.index(http)}"))
    return sorted(status for status, _ in results)


@pytest.mark.parametrize("n", [2, 8])
def test_parallel_registrations_with_a_one_use_token_register_exactly_one_client(app, n):
    token = issue(max_uses=1)
    assert race_registrations(app, n, token) == [201] + [401] * (n - 1)
    db.session.expire_all()
    assert client_count() == 1
    assert db.session.scalar(sa.select(RegistrationToken.uses)) == 1


def test_parallel_registrations_never_exceed_max_uses(app):
    token = issue(max_uses=3)
    assert race_registrations(app, 8, token) == [201] * 3 + [401] * 5
    db.session.expire_all()
    assert client_count() == 3


def _run(app, *args):
    return app.test_cli_runner().invoke(cli, args=list(args))


def test_cli_issues_a_token_once_stored_as_sha256_and_audited(app, client):
    result = _run(app, "clients", "issue-registration-token", "--expires-in", "3600", "--max-uses", "2", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["max_uses"] == 2
    row = db.session.scalar(sa.select(RegistrationToken))
    assert row.token_hash == token_checksum(data["registration_token"]) and row.uses == 0 and row.max_uses == 2
    assert timedelta(seconds=3590) < row.expires_at - clock.now() <= timedelta(seconds=3600)
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.event == "registration_token_issued"))
    assert event.details["token_id"] == row.id and data["registration_token"] not in json.dumps(event.details)
    assert register(client, data["registration_token"]).status_code == 201


def test_cli_defaults_to_one_use_for_a_day_and_refuses_bad_values(app):
    result = _run(app, "clients", "issue-registration-token")
    assert result.exit_code == 0, result.output
    row = db.session.scalar(sa.select(RegistrationToken))
    assert row.max_uses == 1
    assert timedelta(hours=23, minutes=59) < row.expires_at - clock.now() <= timedelta(days=1)
    assert row.token_hash not in result.output
    for args in (["--max-uses", "0"], ["--expires-in", "10"]):
        bad = _run(app, "clients", "issue-registration-token", *args)
        assert bad.exit_code != 0 and ("max_uses" in bad.output or "expires_in" in bad.output), bad.output
