"""Token revocation (RFC 7009) and introspection (RFC 7662)."""

from __future__ import annotations

import pytest

from helpers import TEST_PASSWORD, AuthorizationRequest


@pytest.fixture
def tokens(client, browser, authz, user):
    code = browser.code(authz, "dana", TEST_PASSWORD)
    response = client.post("/token", data=authz.token_form(code), headers=authz.basic_auth())
    assert response.status_code == 200
    return response.json


def _introspect(client, authz, token, **extra):
    return client.post("/introspect", data={"token": token, **extra}, headers=authz.basic_auth())


def test_introspection_describes_an_active_access_token(client, authz, tokens, user):
    body = _introspect(client, authz, tokens["access_token"]).json
    assert body["active"] is True
    assert body["client_id"] == authz.client.client_id
    assert body["sub"] == user.subject
    assert body["token_type"] == "Bearer"
    assert "openid" in body["scope"].split()


def test_introspection_of_unknown_token_is_inactive(client, authz, tokens):
    assert _introspect(client, authz, "no-such-token").json == {"active": False}


def test_introspection_requires_client_authentication(client, tokens):
    response = client.post("/introspect", data={"token": tokens["access_token"]})
    assert response.status_code in (400, 401)
    assert response.json["error"] == "invalid_client"


def test_another_client_cannot_introspect_the_token(client, tokens, make_client):
    other = AuthorizationRequest(make_client(redirect_uri="http://127.0.0.1:9100/cb", name="Other"))
    response = client.post("/introspect", data={"token": tokens["access_token"]}, headers=other.basic_auth())
    assert response.json == {"active": False}


def test_revoking_the_access_token_makes_it_inactive_and_refused_by_userinfo(client, authz, tokens):
    response = client.post("/revoke", data={"token": tokens["access_token"], "token_type_hint": "access_token"},
                           headers=authz.basic_auth())
    assert response.status_code == 200
    assert _introspect(client, authz, tokens["access_token"]).json["active"] is False
    assert client.get("/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}).status_code == 401


def test_revoking_the_refresh_token_ends_the_grant(client, authz, tokens):
    assert client.post("/revoke", data={"token": tokens["refresh_token"]}, headers=authz.basic_auth()).status_code == 200
    refreshed = client.post("/token", data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
                            headers=authz.basic_auth())
    assert refreshed.json["error"] == "invalid_grant"
    assert _introspect(client, authz, tokens["access_token"]).json["active"] is False


def test_revoking_an_unknown_token_answers_200(client, authz, tokens):
    # RFC 7009 2.2: invalid tokens do not cause an error response
    assert client.post("/revoke", data={"token": "whatever"}, headers=authz.basic_auth()).status_code == 200


def test_revocation_with_unsupported_hint_is_refused(client, authz, tokens):
    response = client.post("/revoke", data={"token": tokens["access_token"], "token_type_hint": "id_token"},
                           headers=authz.basic_auth())
    assert response.status_code in (400, 401)  # Authlib answers 401 for this error code
    assert response.json["error"] == "unsupported_token_type"


def test_discovery_advertises_revocation_and_introspection(client):
    metadata = client.get("/.well-known/openid-configuration").json
    assert metadata["revocation_endpoint"].endswith("/revoke")
    assert metadata["introspection_endpoint"].endswith("/introspect")
    assert "none" not in metadata["introspection_endpoint_auth_methods_supported"]
