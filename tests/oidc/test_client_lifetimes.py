"""Per-client token lifetimes override the configured defaults."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from helpers import TEST_PASSWORD, AuthorizationRequest, decode_id_token
from idp.extensions import db
from idp.models import Token


def _tokens(client, browser, authz):
    code = browser.code(authz, "dana", TEST_PASSWORD)
    return client.post("/token", data=authz.token_form(code), headers=authz.basic_auth()).json


def test_defaults_apply_without_client_lifetimes(client, browser, authz, user, settings):
    body = _tokens(client, browser, authz)
    assert body["expires_in"] == settings.tokens.access_token_lifetime
    claims = decode_id_token(body["id_token"], client.get("/jwks.json").json).claims
    assert claims["exp"] - claims["iat"] == settings.tokens.id_token_lifetime


def test_client_lifetimes_override_the_defaults(client, browser, user, make_client):
    rp = make_client()
    rp.access_token_lifetime, rp.id_token_lifetime, rp.refresh_token_lifetime = 120, 90, 3600
    db.session.commit()
    authz = AuthorizationRequest(rp)
    body = _tokens(client, browser, authz)
    assert body["expires_in"] == 120
    claims = decode_id_token(body["id_token"], client.get("/jwks.json").json).claims
    assert claims["exp"] - claims["iat"] == 90
    row = db.session.scalar(sa.select(Token).order_by(Token.id.desc()))
    assert row.refresh_expires_at - row.issued_at == timedelta(seconds=3600)
