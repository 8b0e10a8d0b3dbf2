"""Errors at the authorization endpoint: which ones redirect to the client and which ones stop on an error page.

RFC 6749 4.1.2.1 and RFC 9700 4.11.2: never redirect to a redirect URI that was not verified for a known client
(AS-1, AS-12); once it is verified, errors go back to it with ``state`` and ``iss`` (RFC 9207).
"""

from __future__ import annotations

from datetime import timedelta
from unittest.mock import patch
from urllib.parse import urlencode

import pytest

from helpers import TEST_PASSWORD, AuthorizationRequest, assert_error_page, assert_redirect_error, query
from idp import clock
from idp.extensions import db

ISSUER = "http://127.0.0.1:8000"


def test_unknown_client_id_shows_error_page_without_redirect(client, authz):
    response = client.get(authz.url(client_id="no-such-client"))
    assert_error_page(response)


def test_missing_client_id_shows_error_page_without_redirect(client, authz):
    response = client.get(authz.url(client_id=None))
    assert_error_page(response)


@pytest.mark.parametrize("redirect_uri", [
    pytest.param("http://127.0.0.1:9000/callback/", id="trailing-slash"),
    pytest.param("http://127.0.0.1:9000/callback?x=1", id="added-query"),
    pytest.param("https://evil.example/cb", id="foreign-host"),
    pytest.param("http://127.0.0.1:9000/callback/../evil", id="dot-dot-segment"),
    pytest.param("http://127.0.0.1:9000/callback/..;/evil", id="dot-dot-semicolon"),
    pytest.param("http://127.0.0.1:9000/Callback", id="path-case"),
    pytest.param("HTTP://127.0.0.1:9000/callback", id="scheme-case"),
    pytest.param("http://127.0.0.1:9000@evil.example/callback", id="userinfo"),
    pytest.param("http://127.0.0.1:9000.evil.example/callback", id="host-suffix"),
    pytest.param("http://127.0.0.1:9000/callback#frag", id="fragment"),
    pytest.param("http://127.0.0.1:9000/callbackx", id="prefix"),
])
def test_unregistered_redirect_uri_shows_error_page_without_redirect(client, authz, redirect_uri):
    response = client.get(authz.url(redirect_uri=redirect_uri))
    assert_error_page(response)


def test_unregistered_redirect_uri_of_logged_in_user_shows_error_page_without_redirect(client, browser, authz, user):
    browser.code(authz, "dana", TEST_PASSWORD)
    response = client.get(authz.url(redirect_uri="https://evil.example/cb"))
    assert_error_page(response)


def test_omitted_redirect_uri_is_required_when_the_client_has_several(client, make_client):
    rp = make_client()
    rp.redirect_uris = ["http://127.0.0.1:9000/callback", "http://127.0.0.1:9000/other"]
    db.session.commit()
    response = client.get(AuthorizationRequest(rp).url(redirect_uri=None))
    assert_error_page(response)


def test_implicit_response_type_with_unregistered_redirect_uri_shows_error_page(client, authz):
    response = client.get(authz.url(response_type="token", redirect_uri="https://evil.example/cb"))
    assert_error_page(response)


def test_implicit_response_type_with_unknown_client_shows_error_page(client, authz):
    response = client.get(authz.url(response_type="token", client_id="no-such-client"))
    assert_error_page(response)


def test_implicit_response_type_redirects_with_unsupported_response_type(client, authz):
    response = client.get(authz.url(response_type="token"))
    params = assert_redirect_error(response, "unsupported_response_type", authz.redirect_uri)
    assert params["state"] == authz.state
    assert params["iss"] == ISSUER


def test_hybrid_response_type_redirects_with_unsupported_response_type(client, authz):
    response = client.get(authz.url(response_type="code id_token"))
    assert_redirect_error(response, "unsupported_response_type", authz.redirect_uri)


def test_missing_response_type_is_refused_without_issuing_a_code(client, authz):
    response = client.get(authz.url(response_type=None))
    assert response.status_code in (302, 400)
    if response.status_code == 302:
        assert "code" not in query(response.location)
        assert query(response.location)["error"] in ("invalid_request", "unsupported_response_type")
    else:
        assert_error_page(response)


def test_scope_without_openid_redirects_with_invalid_request(client, authz):
    response = client.get(authz.url(scope="profile email"))
    params = assert_redirect_error(response, "invalid_request", authz.redirect_uri)
    assert params["state"] == authz.state
    assert params["iss"] == ISSUER


def test_missing_scope_redirects_with_invalid_request(client, authz):
    response = client.get(authz.url(scope=None))
    assert_redirect_error(response, "invalid_request", authz.redirect_uri)


def test_unknown_scope_redirects_with_an_error(client, authz):
    response = client.get(authz.url(scope="openid admin"))
    assert response.status_code == 302
    assert query(response.location)["error"] in ("invalid_scope", "invalid_request")


def test_plain_code_challenge_method_redirects_with_invalid_request(client, authz):
    response = client.get(authz.url(code_challenge=authz.verifier, code_challenge_method="plain"))
    params = assert_redirect_error(response, "invalid_request", authz.redirect_uri)
    assert params["state"] == authz.state


def test_code_challenge_without_method_redirects_with_invalid_request(client, authz):
    response = client.get(authz.url(code_challenge_method=None))
    assert_redirect_error(response, "invalid_request", authz.redirect_uri)


def test_malformed_code_challenge_redirects_with_invalid_request(client, authz):
    response = client.get(authz.url(code_challenge="short"))
    assert_redirect_error(response, "invalid_request", authz.redirect_uri)


def test_public_client_without_code_challenge_redirects_with_invalid_request(client, make_client):
    public = AuthorizationRequest(make_client(public=True))
    response = client.get(public.url(code_challenge=None, code_challenge_method=None))
    params = assert_redirect_error(response, "invalid_request", public.redirect_uri)
    assert params["state"] == public.state


def test_duplicated_state_parameter_is_refused(client, authz):
    url = authz.url() + "&" + urlencode({"state": "second"})
    response = client.get(url)
    if response.status_code == 400:
        assert_error_page(response)
    else:
        assert_redirect_error(response, "invalid_request", authz.redirect_uri)


def test_duplicated_redirect_uri_parameter_shows_error_page(client, authz):
    url = authz.url() + "&" + urlencode({"redirect_uri": "https://evil.example/cb"})
    response = client.get(url)
    assert_error_page(response)


def test_prompt_none_without_session_redirects_with_login_required(client, authz):
    response = client.get(authz.url(prompt="none"))
    params = assert_redirect_error(response, "login_required", authz.redirect_uri)
    assert params["state"] == authz.state
    assert params["iss"] == ISSUER


def test_prompt_none_with_session_issues_a_code_without_interaction(client, browser, authz, user):
    browser.code(authz, "dana", TEST_PASSWORD)
    response = client.get(authz.url(prompt="none", nonce="another-nonce"))
    assert response.status_code == 302
    assert "code" in query(response.location)


def test_unknown_prompt_value_redirects_with_invalid_request(client, authz):
    response = client.get(authz.url(prompt="bogus"))
    params = assert_redirect_error(response, "invalid_request", authz.redirect_uri)
    assert params["state"] == authz.state


def test_prompt_none_combined_with_login_redirects_with_invalid_request(client, authz):
    response = client.get(authz.url(prompt="none login"))
    assert_redirect_error(response, "invalid_request", authz.redirect_uri)


def test_non_numeric_max_age_redirects_with_invalid_request(client, authz):
    response = client.get(authz.url(max_age="abc"))
    assert_redirect_error(response, "invalid_request", authz.redirect_uri)


def test_negative_max_age_redirects_with_invalid_request(client, authz):
    response = client.get(authz.url(max_age="-1"))
    assert_redirect_error(response, "invalid_request", authz.redirect_uri)


def test_post_to_authorization_endpoint_redirects_to_login_like_get(client, authz):
    response = client.post("/authorize", data=authz.params())
    assert response.status_code == 303
    assert response.location.startswith("/login?uid=")


def test_post_to_authorization_endpoint_with_unknown_client_shows_error_page(client, authz):
    response = client.post("/authorize", data=authz.params(client_id="no-such-client"))
    assert_error_page(response)


def test_overlong_parameter_is_refused_with_client_error(client, authz):
    response = client.get(authz.url(state="s" * 3000))
    assert 400 <= response.status_code < 500, response.status_code
    assert "code" not in query(response.location or "")


def test_overlong_parameter_name_is_refused_with_client_error(client, authz):
    response = client.get(authz.url() + "&" + "x" * 3000 + "=1")
    assert 400 <= response.status_code < 500, response.status_code


def test_request_body_over_the_limit_is_refused_with_413(client, authz):
    body = urlencode(authz.params(filler="x" * (70 * 1024)))
    response = client.post("/authorize", data=body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 413


def test_prompt_login_with_sso_session_asks_for_the_password_again(client, browser, authz, user):
    browser.code(authz, "dana", TEST_PASSWORD)
    response = client.get(authz.url(prompt="login", nonce="second"))
    assert response.status_code == 303
    assert response.location.startswith("/login?uid=")
    page = browser.login_page(response.location)
    assert b'type="password"' in page.data


def test_prompt_login_issues_a_code_after_the_new_login(client, browser, authz, user):
    browser.code(authz, "dana", TEST_PASSWORD)
    response = browser.authorize(authz, "dana", TEST_PASSWORD, prompt="login", nonce="second")
    assert response.status_code == 302, response.status_code
    params = query(response.location)
    assert "code" in params
    assert params["state"] == authz.state


def test_max_age_zero_issues_a_code_after_a_fresh_login(client, browser, authz, user):
    response = browser.authorize(authz, "dana", TEST_PASSWORD, max_age="0")
    assert response.status_code == 302, response.status_code
    assert "code" in query(response.location)


def test_max_age_exceeded_by_the_sso_session_asks_for_login(client, browser, authz, user):
    browser.code(authz, "dana", TEST_PASSWORD)
    later = clock.now() + timedelta(seconds=120)
    with patch("idp.clock.now", return_value=later):
        response = client.get(authz.url(max_age="60", nonce="second"))
    assert response.status_code == 303
    assert response.location.startswith("/login?uid=")


def test_max_age_not_exceeded_by_the_sso_session_issues_a_code(client, browser, authz, user):
    browser.code(authz, "dana", TEST_PASSWORD)
    response = client.get(authz.url(max_age="3600", nonce="second"))
    assert response.status_code == 302
    assert "code" in query(response.location)


def test_successful_authorization_response_carries_iss(client, browser, authz, user):
    response = browser.authorize(authz, "dana", TEST_PASSWORD)
    assert query(response.location)["iss"] == ISSUER
