"""Refresh tokens: rotation, reuse detection revoking the family (AS-7), client and scope binding (AS-8)."""

from __future__ import annotations

import base64
from datetime import timedelta
from unittest.mock import patch

import pytest

from helpers import TEST_PASSWORD, AuthorizationRequest
from idp import clock
from idp.extensions import db


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def authz(rp):
    return AuthorizationRequest(rp, scope="openid profile email offline_access")


@pytest.fixture
def tokens(client, browser, authz, user) -> dict:
    code = browser.code(authz, "dana", TEST_PASSWORD)
    response = client.post("/token", data=authz.token_form(code), headers=authz.basic_auth())
    assert response.status_code == 200, response.json
    assert "refresh_token" in response.json
    return response.json


def refresh(client, authz, refresh_token: str, **extra):
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token, **extra}
    return client.post("/token", data=form, headers=authz.basic_auth())


def assert_invalid_grant(response) -> None:
    assert response.status_code == 400, (response.status_code, response.get_data(as_text=True)[:300])
    assert response.json["error"] == "invalid_grant", response.json


def test_refresh_returns_a_new_access_token_and_a_new_refresh_token(client, authz, tokens):
    response = refresh(client, authz, tokens["refresh_token"])
    assert response.status_code == 200, response.json
    assert response.json["refresh_token"] != tokens["refresh_token"]
    assert response.json["access_token"] != tokens["access_token"]


def test_refreshed_access_token_works_at_userinfo(client, authz, tokens):
    response = refresh(client, authz, tokens["refresh_token"])
    assert client.get("/userinfo", headers=bearer(response.json["access_token"])).status_code == 200


def test_refresh_response_is_not_cacheable(client, authz, tokens):
    response = refresh(client, authz, tokens["refresh_token"])
    assert response.headers["Cache-Control"] == "no-store"


def test_refresh_keeps_the_granted_scope_when_none_is_asked(client, authz, tokens):
    response = refresh(client, authz, tokens["refresh_token"])
    assert set(response.json["scope"].split()) == set(authz.scope.split())


def test_rotated_refresh_token_is_refused_with_invalid_grant(client, authz, tokens):
    assert refresh(client, authz, tokens["refresh_token"]).status_code == 200
    assert_invalid_grant(refresh(client, authz, tokens["refresh_token"]))


def test_reused_refresh_token_revokes_the_newest_refresh_token_of_its_family(client, authz, tokens):
    second = refresh(client, authz, tokens["refresh_token"]).json
    third = refresh(client, authz, second["refresh_token"]).json
    assert_invalid_grant(refresh(client, authz, tokens["refresh_token"]))
    assert_invalid_grant(refresh(client, authz, third["refresh_token"]))


def test_reused_refresh_token_revokes_the_newest_access_token_of_its_family(client, authz, tokens):
    second = refresh(client, authz, tokens["refresh_token"]).json
    assert client.get("/userinfo", headers=bearer(second["access_token"])).status_code == 200
    refresh(client, authz, tokens["refresh_token"])
    assert client.get("/userinfo", headers=bearer(second["access_token"])).status_code == 401


def test_reuse_in_one_family_leaves_another_family_working(client, browser, authz, tokens):
    other_code = browser.code(authz, "dana", TEST_PASSWORD, nonce="other")
    other = client.post("/token", data=authz.token_form(other_code), headers=authz.basic_auth()).json
    refresh(client, authz, tokens["refresh_token"])
    refresh(client, authz, tokens["refresh_token"])
    assert refresh(client, authz, other["refresh_token"]).status_code == 200


def test_rotation_ends_the_access_token_issued_with_the_old_refresh_token(client, authz, tokens):
    refresh(client, authz, tokens["refresh_token"])
    assert client.get("/userinfo", headers=bearer(tokens["access_token"])).status_code == 401


def test_refresh_token_with_another_clients_credentials_is_refused_with_invalid_grant(client, authz, tokens,
                                                                                        make_client):
    other = AuthorizationRequest(make_client(name="Other panel"))
    assert_invalid_grant(refresh(client, other, tokens["refresh_token"]))


def test_refresh_token_refused_for_another_client_still_works_for_its_own(client, authz, tokens, make_client):
    other = AuthorizationRequest(make_client(name="Other panel"))
    refresh(client, other, tokens["refresh_token"])
    assert refresh(client, authz, tokens["refresh_token"]).status_code == 200


def test_refresh_with_wrong_client_secret_is_refused_with_invalid_client(client, authz, tokens):
    raw = base64.b64encode(f"{authz.client.client_id}:wrong".encode()).decode()
    response = client.post("/token", data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
                           headers={"Authorization": f"Basic {raw}"})
    assert response.status_code == 401
    assert response.json["error"] == "invalid_client"


def test_wider_scope_at_refresh_is_refused_with_invalid_scope(client, make_client, browser, user):
    authz = AuthorizationRequest(make_client(), scope="openid offline_access")
    code = browser.code(authz, "dana", TEST_PASSWORD)
    tokens = client.post("/token", data=authz.token_form(code), headers=authz.basic_auth()).json
    response = refresh(client, authz, tokens["refresh_token"], scope="openid offline_access email")
    assert response.status_code == 400
    assert response.json["error"] == "invalid_scope"


def test_narrower_scope_at_refresh_is_granted(client, authz, tokens):
    response = refresh(client, authz, tokens["refresh_token"], scope="openid")
    assert response.status_code == 200, response.json
    assert response.json["scope"].split() == ["openid"]


def test_unknown_refresh_token_is_refused_with_invalid_grant(client, authz, tokens):
    assert_invalid_grant(refresh(client, authz, tokens["refresh_token"] + "x"))


def test_access_token_used_as_refresh_token_is_refused_with_invalid_grant(client, authz, tokens):
    assert_invalid_grant(refresh(client, authz, tokens["access_token"]))


def test_missing_refresh_token_is_refused_with_invalid_request(client, authz, tokens):
    response = client.post("/token", data={"grant_type": "refresh_token"}, headers=authz.basic_auth())
    assert response.status_code == 400
    assert response.json["error"] == "invalid_request"


def test_refresh_token_of_a_disabled_user_is_refused(client, authz, tokens, user):
    user.disabled = True
    db.session.commit()
    response = refresh(client, authz, tokens["refresh_token"])
    assert response.status_code == 400
    assert response.json["error"] in ("invalid_grant", "invalid_request")
    assert "access_token" not in response.json


def test_access_token_of_a_disabled_user_is_refused_at_userinfo(client, authz, tokens, user):
    user.disabled = True
    db.session.commit()
    assert client.get("/userinfo", headers=bearer(tokens["access_token"])).status_code == 401


def test_access_token_of_a_disabled_client_is_refused_at_userinfo(client, authz, tokens):
    authz.client.enabled = False
    db.session.commit()
    assert client.get("/userinfo", headers=bearer(tokens["access_token"])).status_code == 401


def test_refresh_token_of_a_disabled_client_is_refused(client, authz, tokens):
    authz.client.enabled = False
    db.session.commit()
    response = refresh(client, authz, tokens["refresh_token"])
    assert response.status_code in (400, 401)
    assert "access_token" not in response.json


def test_refresh_token_past_its_lifetime_is_refused_with_invalid_grant(client, authz, tokens, settings):
    later = clock.now() + timedelta(seconds=settings.tokens.refresh_token_lifetime + 60)
    with patch("idp.clock.now", return_value=later):
        response = refresh(client, authz, tokens["refresh_token"])
    assert_invalid_grant(response)
