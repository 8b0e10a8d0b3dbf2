"""The three ways in (``idp clients create``, the admin console, the registration API) go through one service, so
the same request stores the same client; and they refuse the same things with the same message."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from joserfc.jwk import RSAKey

from admin_helpers import admin, console  # noqa: F401 (fixtures)
from helpers import csrf, error_of
from idp.cli import cli
from idp.extensions import db
from idp.models import Client
from idp.oidc.registration import issue_registration_token

NOT_COMPARED = {"id", "client_id", "client_secret_hash", "created_at", "registration_access_token_hash"}
KEY = RSAKey.generate_key(2048, auto_kid=True)
JWKS = {"keys": [KEY.as_dict(private=False)]}

#: one client described the way each of the three ways takes it: (CLI arguments, console form, RFC 7591 metadata)
CASES = {
    "client_secret_post": (
        ["--redirect-uri", "https://partner.example/cb", "--redirect-uri", "https://partner.example/cb2",
         "--post-logout-redirect-uri", "https://partner.example/bye",
         "--backchannel-logout-uri", "https://partner.example/bc", "--auth-method", "client_secret_post",
         "--grant-type", "authorization_code", "--scope", "openid email", "--id-token-alg", "ES256"],
        {"type": "confidential", "token_endpoint_auth_method": "client_secret_post",
         "redirect_uris": "https://partner.example/cb\nhttps://partner.example/cb2",
         "post_logout_redirect_uris": "https://partner.example/bye", "backchannel_logout_uri": "https://partner.example/bc",
         "grant_types": ["authorization_code"], "scope": ["openid", "email"], "id_token_signed_response_alg": "ES256"},
        {"redirect_uris": ["https://partner.example/cb", "https://partner.example/cb2"],
         "post_logout_redirect_uris": ["https://partner.example/bye"], "backchannel_logout_uri": "https://partner.example/bc",
         "token_endpoint_auth_method": "client_secret_post", "grant_types": ["authorization_code"],
         "scope": "openid email", "id_token_signed_response_alg": "ES256"}),
    "private_key_jwt": (
        ["--redirect-uri", "https://partner.example/cb", "--auth-method", "private_key_jwt", "--jwks-file", "-"],
        {"type": "confidential", "token_endpoint_auth_method": "private_key_jwt",
         "redirect_uris": "https://partner.example/cb", "jwks": json.dumps(JWKS),
         "grant_types": ["authorization_code", "refresh_token"],
         "scope": ["openid", "profile", "email", "offline_access"], "id_token_signed_response_alg": "RS256"},
        {"redirect_uris": ["https://partner.example/cb"], "token_endpoint_auth_method": "private_key_jwt",
         "jwks": JWKS}),
    "public": (
        ["--redirect-uri", "https://app.partner.example/cb", "--public"],
        {"type": "public", "redirect_uris": "https://app.partner.example/cb",
         "grant_types": ["authorization_code", "refresh_token"],
         "scope": ["openid", "profile", "email", "offline_access"], "id_token_signed_response_alg": "RS256"},
        {"redirect_uris": ["https://app.partner.example/cb"], "token_endpoint_auth_method": "none"}),
}


def _columns(row: Client) -> dict:
    return {c.key: getattr(row, c.key) for c in Client.__table__.columns if c.key not in NOT_COMPARED}


def _by_name(name: str) -> Client:
    db.session.expire_all()
    return db.session.scalar(sa.select(Client).where(Client.name == name))


def _via_cli(app, name: str, arguments: list[str]):
    return app.test_cli_runner().invoke(cli, ["clients", "create", "--name", name, *arguments, "--json"],
                                        input=json.dumps(JWKS))


def _via_console(console, name: str, form: dict):
    return console.post("/admin/clients", data={"csrf_token": csrf(console), "name": name, "enabled": "1", **form})


def _via_api(http, name: str, metadata: dict):
    _row, token = issue_registration_token()
    db.session.commit()
    return http.post("/register", json={"client_name": name, **metadata}, headers={"Authorization": f"Bearer {token}"})


@pytest.mark.parametrize("case", CASES)
def test_the_three_ways_in_store_the_same_client(app, console, case):
    arguments, form, metadata = CASES[case]
    result = _via_cli(app, "Partner", arguments)
    assert result.exit_code == 0, result.output
    response = _via_console(console, "Partner", form)
    assert response.status_code == 303, error_of(response)
    api = _via_api(console, "Partner", metadata)
    assert api.status_code == 201, api.get_json()
    rows = db.session.scalars(sa.select(Client).order_by(Client.id)).all()
    assert len(rows) == 3
    cli_row, console_row, api_row = (_columns(r) for r in rows)
    assert cli_row == console_row == api_row
    assert (rows[0].client_secret_hash is None) == (rows[1].client_secret_hash is None) == \
        (rows[2].client_secret_hash is None) == (case != "client_secret_post")


@pytest.mark.parametrize(("cli_args", "form", "metadata", "message"), [
    (["--redirect-uri", "https://p.example/cb#x"], {"redirect_uris": "https://p.example/cb#x"},
     {"redirect_uris": ["https://p.example/cb#x"]}, "must not contain a fragment"),
    (["--redirect-uri", "https://p.example/cb", "--backchannel-logout-uri", "http://127.0.0.1:9/bc"],
     {"redirect_uris": "https://p.example/cb", "backchannel_logout_uri": "http://127.0.0.1:9/bc"},
     {"redirect_uris": ["https://p.example/cb"], "backchannel_logout_uri": "http://127.0.0.1:9/bc"}, "must use https"),
    (["--redirect-uri", "https://p.example/cb", "--backchannel-logout-uri", "https://192.168.1.10/bc"],
     {"redirect_uris": "https://p.example/cb", "backchannel_logout_uri": "https://192.168.1.10/bc"},
     {"redirect_uris": ["https://p.example/cb"], "backchannel_logout_uri": "https://192.168.1.10/bc"},
     "must not point at a loopback, private or link-local address"),
    (["--redirect-uri", "https://p.example/cb", "--auth-method", "private_key_jwt"],
     {"redirect_uris": "https://p.example/cb", "token_endpoint_auth_method": "private_key_jwt"},
     {"redirect_uris": ["https://p.example/cb"], "token_endpoint_auth_method": "private_key_jwt"},
     "private_key_jwt needs the client"),
])
def test_the_three_ways_in_refuse_alike(app, console, cli_args, form, metadata, message):
    result = _via_cli(app, "Refused", cli_args)
    assert result.exit_code != 0 and message in result.output
    full_form = {"type": "confidential", "token_endpoint_auth_method": "client_secret_basic",
                 "grant_types": ["authorization_code"], "scope": ["openid"], "id_token_signed_response_alg": "RS256",
                 **form}
    response = _via_console(console, "Refused", full_form)
    assert response.status_code == 400 and message in error_of(response).replace("&#39;", "'")
    api = _via_api(console, "Refused", metadata)
    assert api.status_code == 400 and message in api.get_json()["error_description"]
    assert _by_name("Refused") is None
