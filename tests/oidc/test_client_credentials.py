"""The client-credentials grant (RFC 6749 4.4): confidential clients registered for it, with scopes; no ID token, no
refresh token, no user; the token is stored, introspected and revoked like any other."""

from __future__ import annotations

import base64

import pytest
import sqlalchemy as sa

from helpers import AuthorizationRequest
from idp.extensions import db
from idp.models import AuditEvent, Token
from idp.oidc.registration import ClientError, create_client, update_client


@pytest.fixture
def machine(make_client):
    """A confidential client allowed to use client credentials."""
    return make_client(name="Billing job", grant_types=["authorization_code", "refresh_token", "client_credentials"])


def basic(client) -> dict:
    raw = f"{client.client_id}:{client.secret}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def grant(http, machine, **form):
    return http.post("/token", data={"grant_type": "client_credentials", **form}, headers=basic(machine))


def test_client_credentials_issue_an_access_token_only(client, machine):
    response = grant(client, machine, scope="profile")
    assert response.status_code == 200, response.json
    body = response.json
    assert body["token_type"] == "Bearer" and body["access_token"] and body["expires_in"] > 0
    assert body["scope"] == "profile"
    assert "refresh_token" not in body and "id_token" not in body
    assert response.headers["Cache-Control"] == "no-store"


def test_client_credentials_token_is_stored_without_user_or_login(client, machine):
    grant(client, machine, scope="email")
    row = db.session.scalar(sa.select(Token).where(Token.client_id == machine.client_id))
    assert row.user_id is None and row.auth_time is None and row.acr is None and row.amr == []
    assert row.refresh_token_hash is None and row.scope == "email"


def test_client_credentials_without_scope_get_an_empty_scope(client, machine):
    response = grant(client, machine)
    assert response.status_code == 200, response.json
    assert "scope" not in response.json


@pytest.mark.parametrize("scope", ["openid", "offline_access", "profile openid"])
def test_client_credentials_refuse_scopes_that_need_a_user(client, machine, scope):
    response = grant(client, machine, scope=scope)
    assert response.status_code == 400
    assert response.json["error"] == "invalid_scope"


def test_client_credentials_refuse_a_scope_the_client_is_not_registered_for(client, machine):
    update_client(machine, scope="openid profile")
    db.session.commit()
    response = grant(client, machine, scope="email")
    assert response.status_code == 400
    assert response.json["error"] == "invalid_scope"


def test_client_credentials_refuse_an_unknown_scope(client, machine):
    response = grant(client, machine, scope="admin")
    assert response.json["error"] == "invalid_scope"


def test_client_not_registered_for_client_credentials_is_refused(client, rp):
    response = grant(client, rp)
    assert response.status_code == 400
    assert response.json["error"] == "unauthorized_client"


def test_client_credentials_with_a_wrong_secret_are_refused(client, machine):
    raw = base64.b64encode(f"{machine.client_id}:wrong".encode()).decode()
    response = client.post("/token", data={"grant_type": "client_credentials"}, headers={"Authorization": f"Basic {raw}"})
    assert response.status_code == 401
    assert response.json["error"] == "invalid_client"


def test_client_credentials_work_with_client_secret_post(client, make_client):
    machine = make_client(grant_types=["authorization_code", "client_credentials"],
                          token_endpoint_auth_method="client_secret_post")
    response = client.post("/token", data={"grant_type": "client_credentials", "client_id": machine.client_id,
                                           "client_secret": machine.secret})
    assert response.status_code == 200, response.json


def test_disabled_client_cannot_use_client_credentials(client, machine):
    update_client(machine, enabled=False)
    db.session.commit()
    response = grant(client, machine)
    assert response.json["error"] == "invalid_client"


def test_public_client_cannot_register_for_client_credentials(app):
    with pytest.raises(ClientError, match="confidential"):
        create_client(name="SPA", redirect_uris=["http://127.0.0.1:9000/cb"], public=True,
                      grant_types=["authorization_code", "client_credentials"])


def test_public_client_cannot_be_updated_to_client_credentials(make_client):
    spa = make_client(public=True)
    with pytest.raises(ClientError, match="confidential"):
        update_client(spa, grant_types=["authorization_code", "client_credentials"])


def test_new_clients_do_not_get_client_credentials_unless_asked(rp):
    assert rp.grant_types == ["authorization_code", "refresh_token"]


def test_discovery_lists_client_credentials(client):
    assert "client_credentials" in client.get("/.well-known/openid-configuration").json["grant_types_supported"]


def test_client_credentials_token_is_not_valid_at_userinfo(client, machine):
    token = grant(client, machine, scope="profile").json["access_token"]
    response = client.get("/userinfo", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401


def test_client_credentials_token_is_introspected_without_a_subject(client, machine):
    token = grant(client, machine, scope="profile").json["access_token"]
    body = client.post("/introspect", data={"token": token}, headers=basic(machine)).json
    assert body["active"] is True and body["client_id"] == machine.client_id and body["scope"] == "profile"
    assert "sub" not in body and "username" not in body


def test_client_credentials_token_is_revoked_and_audited(client, machine):
    token = grant(client, machine).json["access_token"]
    assert client.post("/revoke", data={"token": token}, headers=basic(machine)).status_code == 200
    assert client.post("/introspect", data={"token": token}, headers=basic(machine)).json == {"active": False}
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.event == "token_revoked"))
    assert event.client_id == machine.client_id and event.subject_id is None


def test_code_flow_still_works_for_a_client_credentials_client(browser, client, machine, user):
    authz = AuthorizationRequest(machine)
    code = browser.code(authz, "dana", "a long test passphrase")
    response = client.post("/token", data=authz.token_form(code), headers=authz.basic_auth())
    assert response.status_code == 200 and "id_token" in response.json
