"""RFC 7591 3.1 and 3.2.1: a registration with an initial access token gives a working, untrusted client shaped
exactly like one ``idp clients create`` makes; discovery advertises the endpoint (RFC 8414 2)."""

from __future__ import annotations

import json

import sqlalchemy as sa

from dcr_helpers import METADATA, REDIRECT_URI, Registered, register
from helpers import TEST_PASSWORD, AuthorizationRequest, csrf_token, query
from idp.cli import cli
from idp.extensions import db
from idp.models import AuditEvent, Client
from idp.security.tokens import token_checksum

ISSUER = "http://127.0.0.1:8000"
FULL = {"client_name": "Billing partner", "redirect_uris": ["https://partner.example/cb", REDIRECT_URI],
        "post_logout_redirect_uris": ["https://partner.example/bye"],
        "backchannel_logout_uri": "https://partner.example/bclogout",
        "token_endpoint_auth_method": "client_secret_post"}
NOT_COMPARED = {"id", "client_id", "client_secret_hash", "created_at", "registration_access_token_hash"}


def stored(client_id: str) -> Client:
    db.session.expire_all()
    return db.session.scalar(sa.select(Client).where(Client.client_id == client_id))


def test_registration_returns_201_with_the_client_its_secret_once_and_rfc7592_access(client, registered):
    assert set(registered) >= {"client_id", "client_secret", "client_id_issued_at", "client_secret_expires_at",
                               "registration_access_token", "registration_client_uri"}
    assert registered["client_secret_expires_at"] == 0
    assert registered["client_name"] == METADATA["client_name"]
    assert registered["redirect_uris"] == [REDIRECT_URI]
    assert registered["grant_types"] == ["authorization_code", "refresh_token"]
    assert registered["response_types"] == ["code"]
    assert registered["token_endpoint_auth_method"] == "client_secret_basic"
    assert registered["registration_client_uri"] == f"{ISSUER}/register/{registered['client_id']}"
    row = stored(registered["client_id"])
    assert row.trusted is False and row.enabled is True
    assert row.check_client_secret(registered["client_secret"])
    assert row.registration_access_token_hash == token_checksum(registered["registration_access_token"])


def test_response_headers_forbid_caching(client, initial_token):
    response = register(client, initial_token)
    assert response.status_code == 201 and response.mimetype == "application/json"
    assert response.headers["Cache-Control"] == "no-store"


def test_a_registered_client_completes_the_code_flow_after_consent(client, browser, registered, user):
    authz = AuthorizationRequest(Registered.from_response(registered))
    response = browser.authorize(authz, "dana", TEST_PASSWORD)
    assert response.status_code == 303 and response.location.startswith("/consent/"), response.location
    page = client.get(response.location)
    assert METADATA["client_name"] in page.get_data(as_text=True)
    response = client.post(response.location, data={"csrf_token": csrf_token(page.get_data(as_text=True)),
                                                     "decision": "allow"})
    response = client.get(response.location)
    assert response.status_code == 302 and response.location.startswith(REDIRECT_URI + "?")
    code = query(response.location)["code"]
    tokens = client.post("/token", data=authz.token_form(code), headers=authz.basic_auth())
    assert tokens.status_code == 200, tokens.get_json()
    assert {"access_token", "id_token", "refresh_token"} <= set(tokens.get_json())


def test_a_public_client_gets_no_secret(client, initial_token):
    response = register(client, initial_token, token_endpoint_auth_method="none")
    body = response.get_json()
    assert response.status_code == 201, body
    assert "client_secret" not in body and "client_secret_expires_at" not in body
    row = stored(body["client_id"])
    assert row.is_public and row.client_secret_hash is None


def test_scope_and_grant_types_are_applied_through_the_service(client, initial_token):
    response = register(client, initial_token, scope="openid email", grant_types=["authorization_code"])
    body = response.get_json()
    assert response.status_code == 201, body
    assert body["scope"] == "openid email" and body["grant_types"] == ["authorization_code"]
    row = stored(body["client_id"])
    assert row.scope == "openid email" and row.grant_types == ["authorization_code"]


def test_unknown_and_non_standard_fields_are_ignored_and_never_make_a_trusted_client(client, initial_token):
    response = register(client, initial_token, trusted=True, requires_2fa=True, client_id="chosen-id",
                        client_secret="chosen-secret", logo_uri="https://partner.example/logo.png")
    body = response.get_json()
    assert response.status_code == 201, body
    assert body["client_id"] != "chosen-id" and body["client_secret"] != "chosen-secret"
    row = stored(body["client_id"])
    assert row.trusted is False and row.requires_2fa is False


def test_an_api_registered_client_has_the_same_columns_as_a_cli_created_one(app, client, initial_token):
    result = app.test_cli_runner().invoke(cli, [
        "clients", "create", "--name", FULL["client_name"], "--redirect-uri", FULL["redirect_uris"][0],
        "--redirect-uri", FULL["redirect_uris"][1], "--post-logout-redirect-uri", FULL["post_logout_redirect_uris"][0],
        "--backchannel-logout-uri", FULL["backchannel_logout_uri"], "--auth-method", "client_secret_post", "--json"])
    assert result.exit_code == 0, result.output
    cli_row = stored(json.loads(result.output)["client_id"])
    response = client.post("/register", json=FULL, headers={"Authorization": f"Bearer {initial_token}"})
    assert response.status_code == 201, response.get_json()
    api_row = stored(response.get_json()["client_id"])
    columns = [c.key for c in Client.__table__.columns if c.key not in NOT_COMPARED]
    assert {c: getattr(api_row, c) for c in columns} == {c: getattr(cli_row, c) for c in columns}
    assert api_row.registration_access_token_hash and cli_row.registration_access_token_hash is None


def test_registration_is_audited_without_tokens_or_secrets(client, initial_token, registered):
    events = db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id)).all()
    names = [e.event for e in events]
    assert {"registration_token_issued", "client_created", "client_registered"} <= set(names)
    registered_event = next(e for e in events if e.event == "client_registered")
    assert registered_event.client_id == registered["client_id"]
    dumped = json.dumps([e.details for e in events])
    for secret in (initial_token, registered["client_secret"], registered["registration_access_token"]):
        assert secret not in dumped


def test_discovery_advertises_the_registration_endpoint(client):
    metadata = client.get("/.well-known/openid-configuration").get_json()
    assert metadata["registration_endpoint"] == f"{ISSUER}/register"
