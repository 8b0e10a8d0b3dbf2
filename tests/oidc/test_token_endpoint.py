"""The token endpoint: client authentication, PKCE, code binding and single use, and error shapes (RFC 6749 5.2)."""

from __future__ import annotations

import base64
import secrets
from datetime import timedelta
from unittest.mock import patch
from urllib.parse import urlencode

import pytest

from helpers import TEST_PASSWORD, AuthorizationRequest, assert_error_page
from idp import clock
from idp.extensions import db


@pytest.fixture
def code(browser, authz, user):
    return browser.code(authz, "dana", TEST_PASSWORD)


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def assert_token_error(response, error: str | tuple[str, ...], status: int | tuple[int, ...] = 400) -> dict:
    statuses = status if isinstance(status, tuple) else (status,)
    errors = error if isinstance(error, tuple) else (error,)
    assert response.status_code in statuses, (response.status_code, response.get_data(as_text=True)[:300])
    assert response.is_json, response.get_data(as_text=True)[:300]
    assert response.json["error"] in errors, response.json
    assert "access_token" not in response.json
    return response.json


def other_verifier() -> str:
    return secrets.token_urlsafe(48)


# client authentication (AS-10)

def test_wrong_client_secret_is_refused_with_invalid_client(client, authz, code):
    raw = base64.b64encode(f"{authz.client.client_id}:wrong-secret".encode()).decode()
    response = client.post("/token", data=authz.token_form(code), headers={"Authorization": f"Basic {raw}"})
    assert_token_error(response, "invalid_client", 401)


def test_wrong_client_secret_response_carries_www_authenticate(client, authz, code):
    raw = base64.b64encode(f"{authz.client.client_id}:wrong-secret".encode()).decode()
    response = client.post("/token", data=authz.token_form(code), headers={"Authorization": f"Basic {raw}"})
    assert response.status_code == 401
    assert "WWW-Authenticate" in response.headers


def test_missing_client_authentication_is_refused_with_invalid_client(client, authz, code):
    response = client.post("/token", data=authz.token_form(code))
    assert_token_error(response, "invalid_client", (400, 401))


def test_confidential_client_id_without_secret_is_refused_with_invalid_client(client, authz, code):
    response = client.post("/token", data=authz.token_form(code, client_id=authz.client.client_id))
    assert_token_error(response, "invalid_client", (400, 401))


def test_unknown_client_is_refused_with_invalid_client(client, authz, code):
    raw = base64.b64encode(b"no-such-client:secret").decode()
    response = client.post("/token", data=authz.token_form(code), headers={"Authorization": f"Basic {raw}"})
    assert_token_error(response, "invalid_client", 401)


def test_client_secret_post_client_redeems_with_credentials_in_the_body(client, browser, user, make_client):
    authz = AuthorizationRequest(make_client(token_endpoint_auth_method="client_secret_post"))
    code = browser.code(authz, "dana", TEST_PASSWORD)
    form = authz.token_form(code, client_id=authz.client.client_id, client_secret=authz.client.secret)
    response = client.post("/token", data=form)
    assert response.status_code == 200, response.json
    assert "access_token" in response.json


def test_client_secret_post_client_is_refused_with_basic_authentication(client, browser, user, make_client):
    authz = AuthorizationRequest(make_client(token_endpoint_auth_method="client_secret_post"))
    code = browser.code(authz, "dana", TEST_PASSWORD)
    response = client.post("/token", data=authz.token_form(code), headers=authz.basic_auth())
    assert_token_error(response, "invalid_client", (400, 401))


def test_client_secret_basic_client_is_refused_with_credentials_in_the_body(client, authz, code):
    form = authz.token_form(code, client_id=authz.client.client_id, client_secret=authz.client.secret)
    response = client.post("/token", data=form)
    assert_token_error(response, "invalid_client", (400, 401))


def test_public_client_redeems_with_client_id_and_code_verifier(client, browser, user, make_client):
    authz = AuthorizationRequest(make_client(public=True))
    code = browser.code(authz, "dana", TEST_PASSWORD)
    response = client.post("/token", data=authz.token_form(code, client_id=authz.client.client_id))
    assert response.status_code == 200, response.json
    assert "id_token" in response.json


def test_public_client_without_code_verifier_is_refused(client, browser, user, make_client):
    authz = AuthorizationRequest(make_client(public=True))
    code = browser.code(authz, "dana", TEST_PASSWORD)
    response = client.post("/token", data=authz.token_form(code, client_id=authz.client.client_id,
                                                           code_verifier=None))
    assert_token_error(response, ("invalid_request", "invalid_grant"))


# PKCE (AS-4, AS-5)

def test_wrong_code_verifier_is_refused_with_invalid_grant(client, authz, code):
    response = client.post("/token", data=authz.token_form(code, code_verifier=other_verifier()),
                           headers=authz.basic_auth())
    assert_token_error(response, "invalid_grant")


def test_missing_code_verifier_after_a_challenge_is_refused(client, authz, code):
    response = client.post("/token", data=authz.token_form(code, code_verifier=None), headers=authz.basic_auth())
    assert_token_error(response, ("invalid_request", "invalid_grant"))


def test_code_verifier_without_challenge_in_authorization_is_refused(client, browser, authz, user):
    code = browser.code(authz, "dana", TEST_PASSWORD, code_challenge=None, code_challenge_method=None)
    response = client.post("/token", data=authz.token_form(code), headers=authz.basic_auth())
    assert_token_error(response, ("invalid_grant", "invalid_request"))


def test_confidential_client_without_pkce_redeems_without_code_verifier(client, browser, authz, user):
    code = browser.code(authz, "dana", TEST_PASSWORD, code_challenge=None, code_challenge_method=None)
    response = client.post("/token", data=authz.token_form(code, code_verifier=None), headers=authz.basic_auth())
    assert response.status_code == 200, response.json


# code binding and single use (AS-2, AS-3)

def test_redirect_uri_mismatch_at_token_is_refused_with_invalid_grant(client, authz, code):
    form = authz.token_form(code, redirect_uri="http://127.0.0.1:9000/other")
    response = client.post("/token", data=form, headers=authz.basic_auth())
    assert_token_error(response, "invalid_grant")


def test_unknown_code_is_refused_with_invalid_grant(client, authz, code):
    response = client.post("/token", data=authz.token_form("x" + code), headers=authz.basic_auth())
    assert_token_error(response, "invalid_grant")


def test_reused_code_is_refused_with_invalid_grant(client, authz, code):
    first = client.post("/token", data=authz.token_form(code), headers=authz.basic_auth())
    assert first.status_code == 200
    second = client.post("/token", data=authz.token_form(code), headers=authz.basic_auth())
    assert_token_error(second, "invalid_grant")


def test_reused_code_revokes_the_access_token_of_the_first_redemption(client, authz, code):
    first = client.post("/token", data=authz.token_form(code), headers=authz.basic_auth())
    access_token = first.json["access_token"]
    assert client.get("/userinfo", headers=bearer(access_token)).status_code == 200
    client.post("/token", data=authz.token_form(code), headers=authz.basic_auth())
    assert client.get("/userinfo", headers=bearer(access_token)).status_code == 401


def test_reused_code_revokes_the_refresh_token_of_the_first_redemption(client, authz, code):
    first = client.post("/token", data=authz.token_form(code), headers=authz.basic_auth())
    refresh_token = first.json["refresh_token"]
    client.post("/token", data=authz.token_form(code), headers=authz.basic_auth())
    response = client.post("/token", data={"grant_type": "refresh_token", "refresh_token": refresh_token},
                           headers=authz.basic_auth())
    assert_token_error(response, "invalid_grant")


def test_code_issued_to_another_client_is_refused_with_invalid_grant(client, authz, code, make_client):
    other = AuthorizationRequest(make_client(name="Other panel"))
    form = authz.token_form(code)
    response = client.post("/token", data=form, headers=other.basic_auth())
    assert_token_error(response, "invalid_grant")


def test_code_refused_for_another_client_is_not_burnt_for_its_own_client(client, authz, code, make_client):
    other = AuthorizationRequest(make_client(name="Other panel"))
    client.post("/token", data=authz.token_form(code), headers=other.basic_auth())
    response = client.post("/token", data=authz.token_form(code), headers=authz.basic_auth())
    assert response.status_code == 200, response.json


def test_code_older_than_ten_minutes_is_refused_with_invalid_grant(client, authz, code):
    later = clock.now() + timedelta(minutes=11)
    with patch("idp.clock.now", return_value=later):
        response = client.post("/token", data=authz.token_form(code), headers=authz.basic_auth())
    assert_token_error(response, "invalid_grant")


@pytest.mark.settings(tokens={"authorization_code_lifetime": 1})
def test_code_past_its_configured_lifetime_is_refused_with_invalid_grant(client, authz, code):
    later = clock.now() + timedelta(seconds=5)
    with patch("idp.clock.now", return_value=later):
        response = client.post("/token", data=authz.token_form(code), headers=authz.basic_auth())
    assert_token_error(response, "invalid_grant")


def test_code_within_its_lifetime_is_accepted(client, authz, code):
    later = clock.now() + timedelta(seconds=30)
    with patch("idp.clock.now", return_value=later):
        response = client.post("/token", data=authz.token_form(code), headers=authz.basic_auth())
    assert response.status_code == 200, response.json


# grants and response shape (AS-9, RFC 6749 5.1)

def test_password_grant_is_refused_with_unsupported_grant_type(client, authz, user):
    form = {"grant_type": "password", "username": "dana", "password": TEST_PASSWORD, "scope": "openid"}
    response = client.post("/token", data=form, headers=authz.basic_auth())
    assert_token_error(response, ("unsupported_grant_type", "unauthorized_client"))


def test_client_credentials_grant_is_refused(client, authz):
    response = client.post("/token", data={"grant_type": "client_credentials"}, headers=authz.basic_auth())
    assert_token_error(response, ("unsupported_grant_type", "unauthorized_client"))


def test_missing_grant_type_is_refused(client, authz, code):
    response = client.post("/token", data=authz.token_form(code, grant_type=None), headers=authz.basic_auth())
    assert_token_error(response, ("unsupported_grant_type", "invalid_request"))


def test_successful_token_response_is_not_cacheable(client, authz, code):
    response = client.post("/token", data=authz.token_form(code), headers=authz.basic_auth())
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers.get("Pragma") == "no-cache"


@pytest.mark.parametrize("form", [
    pytest.param({"grant_type": "password"}, id="unsupported-grant"),
    pytest.param({"grant_type": "authorization_code", "code": "nope"}, id="invalid-grant"),
    pytest.param({}, id="empty"),
])
def test_token_error_response_is_not_cacheable(client, authz, form):
    response = client.post("/token", data=form, headers=authz.basic_auth())
    assert 400 <= response.status_code < 500
    assert response.headers["Cache-Control"] == "no-store"


def test_invalid_client_response_is_not_cacheable(client, authz, code):
    response = client.post("/token", data=authz.token_form(code))
    assert response.status_code in (400, 401)
    assert response.headers["Cache-Control"] == "no-store"


def test_token_endpoint_refuses_get(client, authz, code):
    response = client.get("/token?" + "&".join(f"{k}={v}" for k, v in authz.token_form(code).items()),
                          headers=authz.basic_auth())
    assert response.status_code == 405
    assert response.is_json
    assert "error" in response.json


def test_code_sent_in_query_string_is_not_accepted(client, authz, code):
    response = client.post("/token?" + urlencode(authz.token_form(code)), headers=authz.basic_auth())
    assert 400 <= response.status_code < 500
    assert "access_token" not in (response.json or {})


def test_json_body_is_refused_with_json_error(client, authz, code):
    response = client.post("/token", json=authz.token_form(code), headers=authz.basic_auth())
    assert 400 <= response.status_code < 500
    assert response.is_json
    assert "error" in response.json


def test_binary_garbage_body_is_refused_with_json_error(client, authz):
    garbage = bytes(range(256)) * 8
    response = client.post("/token", data=garbage, content_type="application/x-www-form-urlencoded",
                           headers=authz.basic_auth())
    assert 400 <= response.status_code < 500
    assert response.is_json
    assert "error" in response.json


def test_binary_garbage_with_octet_stream_type_is_refused_with_json_error(client, authz):
    response = client.post("/token", data=b"\x00\xff\xfe" * 100, content_type="application/octet-stream",
                           headers=authz.basic_auth())
    assert 400 <= response.status_code < 500
    assert response.is_json
    assert "error" in response.json


def test_huge_code_value_is_refused_with_invalid_grant(client, authz, code):
    response = client.post("/token", data=authz.token_form("c" * 50_000), headers=authz.basic_auth())
    assert_token_error(response, ("invalid_grant", "invalid_request"))


def test_body_over_the_limit_is_refused_with_413_json(client, authz):
    response = client.post("/token", data={"grant_type": "authorization_code", "code": "c" * 70_000},
                           headers=authz.basic_auth())
    assert response.status_code == 413
    assert response.is_json
    assert "error" in response.json


def test_malformed_basic_authorization_header_is_refused_with_invalid_client(client, authz, code):
    response = client.post("/token", data=authz.token_form(code), headers={"Authorization": "Basic !!!not-base64"})
    assert_token_error(response, "invalid_client", (400, 401))


def test_non_ascii_client_credentials_are_refused_with_invalid_client(client, authz, code):
    raw = base64.b64encode("ünïcode:sécret".encode()).decode()
    response = client.post("/token", data=authz.token_form(code), headers={"Authorization": f"Basic {raw}"})
    assert_token_error(response, "invalid_client", (400, 401))


def test_duplicated_code_parameter_is_refused(client, authz, code):
    body = "&".join(f"{k}={v}" for k, v in authz.token_form(code).items()) + "&code=other"
    response = client.post("/token", data=body, content_type="application/x-www-form-urlencoded",
                           headers=authz.basic_auth())
    assert_token_error(response, ("invalid_request", "invalid_grant"))


def test_code_of_a_user_disabled_after_authorization_is_refused_with_invalid_grant(client, authz, code, user):
    user.disabled = True
    db.session.commit()
    response = client.post("/token", data=authz.token_form(code), headers=authz.basic_auth())
    assert_token_error(response, "invalid_grant")


def test_code_of_a_disabled_client_is_refused_with_invalid_client(client, authz, code):
    authz.client.enabled = False
    db.session.commit()
    response = client.post("/token", data=authz.token_form(code), headers=authz.basic_auth())
    assert_token_error(response, "invalid_client", 401)


def test_authorization_request_without_redirect_uri_shows_error_page(client, authz, user):
    # OIDC Core 3.1.2.1: redirect_uri is REQUIRED; without one there is no verified place to send an error
    response = client.get(authz.url(redirect_uri=None))
    assert_error_page(response)


def test_code_requested_with_redirect_uri_is_refused_without_redirect_uri(client, authz, code):
    response = client.post("/token", data=authz.token_form(code, redirect_uri=None), headers=authz.basic_auth())
    assert_token_error(response, "invalid_grant")
