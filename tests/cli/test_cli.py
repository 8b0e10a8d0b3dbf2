"""The idp console script: clients create prints the secret once and stores it hashed; users create reads stdin."""

from __future__ import annotations

import json

import sqlalchemy as sa

from idp.cli import cli
from idp.extensions import db
from idp.models import Client, User
from idp.security.tokens import hash_client_secret


def _invoke(app, args, input=None):
    return app.test_cli_runner().invoke(cli, args=args, input=input)


def test_clients_create_json_prints_id_and_secret_once_and_stores_a_hash(app):
    result = _invoke(app, ["clients", "create", "--name", "Billing", "--redirect-uri", "https://billing.example.com/cb",
                           "--trusted", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    client = db.session.scalar(sa.select(Client).where(Client.client_id == data["client_id"]))
    assert client.trusted and client.redirect_uris == ["https://billing.example.com/cb"]
    assert client.client_secret_hash == hash_client_secret(data["client_secret"])
    assert data["client_secret"] not in client.client_secret_hash
    listing = _invoke(app, ["clients", "list", "--json"])
    assert data["client_secret"] not in listing.output


def test_clients_create_public_has_no_secret(app):
    result = _invoke(app, ["clients", "create", "--name", "SPA", "--redirect-uri", "http://127.0.0.1:5000/cb",
                           "--public", "--json"])
    assert json.loads(result.output)["client_secret"] is None


def test_clients_create_refuses_bad_redirect_uris_with_a_clear_message(app):
    for uri, words in [("http://example.com/cb", "https"), ("https://example.com/cb#x", "fragment"),
                       ("https://*.example.com/cb", "wildcard"), ("/cb", "absolute")]:
        result = _invoke(app, ["clients", "create", "--name", "X", "--redirect-uri", uri])
        assert result.exit_code != 0
        assert words in result.output, (uri, result.output)


def test_users_create_reads_the_password_from_stdin_and_creates_the_account(app):
    result = _invoke(app, ["users", "create", "--account", "Acme", "--username", "sam", "--email", "sam@acme.example",
                           "--password-stdin", "--json"], input="a long test passphrase\n")
    assert result.exit_code == 0, result.output
    user = db.session.scalar(sa.select(User).where(User.username == "sam"))
    assert user.account.name == "Acme" and user.password_hash.startswith("$argon2id$")
    assert "a long test passphrase" not in result.output


def test_users_create_refuses_a_weak_password_and_a_taken_username(app, user):
    weak = _invoke(app, ["users", "create", "--account", "Acme", "--username", "kim", "--email", "k@acme.example",
                         "--password-stdin"], input="password\n")
    assert weak.exit_code != 0 and "Password" in weak.output
    taken = _invoke(app, ["users", "create", "--account", "Acme", "--username", "dana", "--email", "d@acme.example",
                          "--password-stdin"], input="a long test passphrase\n")
    assert taken.exit_code != 0 and "taken" in taken.output


def test_keys_list_shows_both_algorithms(app):
    result = _invoke(app, ["keys", "list", "--json"])
    assert {k["alg"] for k in json.loads(result.output)} == {"RS256", "ES256"}
