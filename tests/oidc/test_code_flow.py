"""The authorization code flow end to end through the test client: login, code, tokens, ID token, userinfo."""

from __future__ import annotations

from helpers import TEST_PASSWORD
from helpers import decode_id_token, query


def test_authorize_without_session_redirects_to_login(client, authz):
    response = client.get(authz.url())
    assert response.status_code == 303
    assert response.location.startswith("/login?uid=")


def test_full_flow_issues_verified_id_token_with_required_claims(client, browser, authz, user):
    response = browser.authorize(authz, "dana", TEST_PASSWORD)
    assert response.status_code == 302
    params = query(response.location)
    assert response.location.startswith(authz.redirect_uri + "?")
    assert params["state"] == authz.state
    assert params["iss"] == "http://127.0.0.1:8000"
    token = client.post("/token", data=authz.token_form(params["code"]), headers=authz.basic_auth())
    assert token.status_code == 200, token.json
    assert token.headers["Cache-Control"] == "no-store"
    body = token.json
    assert body["token_type"].lower() == "bearer"
    jwks = client.get("/jwks.json").json
    claims = decode_id_token(body["id_token"], jwks).claims
    for claim in ("iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "at_hash", "amr", "acr", "sid"):
        assert claim in claims, claim
    assert claims["iss"] == "http://127.0.0.1:8000"
    assert claims["aud"] == [authz.client.client_id]
    assert claims["nonce"] == authz.nonce
    assert claims["amr"] == ["pwd"]
    assert claims["sub"] == user.subject
    info = client.get("/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert info.status_code == 200
    assert info.json["sub"] == user.subject
    assert info.json["preferred_username"] == "dana"
    assert info.json["email"] == user.email


def test_second_authorization_uses_the_sso_session_without_login(client, browser, authz, user, make_client):
    browser.code(authz, "dana", TEST_PASSWORD)
    from helpers import AuthorizationRequest

    other = AuthorizationRequest(make_client(redirect_uri="http://127.0.0.1:9001/callback", name="Other panel"))
    response = client.get(other.url())
    assert response.status_code == 302
    assert "code" in query(response.location)
