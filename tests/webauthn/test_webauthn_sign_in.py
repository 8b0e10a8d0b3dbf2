"""Signing in with a security key: as the second factor after the password, and without a password (a passkey).

Both end in the same session path as a password login and report RFC 8176 amr values: ``hwk``/``swk``, ``user``
(presence), ``pin`` (user verification) and ``mfa``; acr is the MFA level.
"""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pyotp
import pytest

import idp.clock
from helpers import AuthorizationRequest, b64url, csrf, query, race
from idp.extensions import db
from idp.models import LoginSession, TotpCredential
from idp.oidc.claims import ACR_MFA
from idp.security import throttle
from idp.security.crypto import encrypt
from webauthn_helpers import (SoftAuthenticator, add_key, audit_events, error_of, id_token_claims,
                              passkey_login, passkey_options, password_login, post, second_factor_options,
                              submit_assertion)

SECOND_FACTOR_FAILED = "Your security key could not be verified. Please try again, or use another method."
PASSKEY_FAILED = "Your passkey did not sign you in. Please try again, or sign in with your username and password."


@pytest.fixture
def key(app, user):
    """dana has a security key (added through the pages in another browser) and it is her default method."""
    authenticator = SoftAuthenticator()
    browser = app.test_client()
    assert password_login(browser).status_code == 303
    assert add_key(browser, authenticator).status_code == 303
    return authenticator


def _authorize(client, rp):
    authz = AuthorizationRequest(rp)
    response = client.get(authz.url())
    assert response.status_code == 303 and "/login" in response.location
    return authz, query(response.location)["uid"]


def _code(client, response) -> str:
    while response.status_code in (302, 303) and response.location.startswith("/"):
        response = client.get(response.location)
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    return query(response.location)["code"]


# --- second factor -------------------------------------------------------------------------------------------

def test_after_the_password_the_default_key_is_asked_for_with_the_users_keys(client, key):
    response = password_login(client)
    assert response.location == "/login/second-factor"
    page = client.get(response.location).get_data(as_text=True)
    assert "<h1>Security key or passkey</h1>" in page and 'data-webauthn="get"' in page and "data-autostart" in page
    assert "<noscript>" in page and "Use another method below" in page  # recovery codes are the other method
    options = second_factor_options(client)
    assert [c["id"] for c in options["allowCredentials"]] == [b64url(key.credential_id)]
    assert options["rpId"] == "localhost" and options["userVerification"] == "discouraged"


def test_the_key_completes_the_login_with_hwk_user_and_mfa(client, rp, key):
    authz, uid = _authorize(client, rp)
    password_login(client, uid=uid)
    response = submit_assertion(client, key.get(second_factor_options(client), uv=False))
    claims = id_token_claims(client, authz, _code(client, response))
    assert claims["amr"] == ["pwd", "hwk", "user", "mfa"] and claims["acr"] == ACR_MFA
    assert audit_events("login_success")[-1].details["method"] == "webauthn"


def test_a_key_that_verified_the_user_adds_pin(client, rp, key):
    authz, uid = _authorize(client, rp)
    password_login(client, uid=uid)
    response = submit_assertion(client, key.get(second_factor_options(client), uv=True))
    assert id_token_claims(client, authz, _code(client, response))["amr"] == ["pwd", "hwk", "user", "pin", "mfa"]


def test_the_key_can_be_chosen_under_use_another_method(client, user, key):
    db.session.add(TotpCredential(user_id=user.id, secret_encrypted=encrypt(pyotp.random_base32()),
                                  confirmed_at=idp.clock.now()))
    user.default_method = "totp"
    db.session.commit()
    password_login(client)
    page = client.get("/login/second-factor").get_data(as_text=True)
    assert "<h1>Authenticator app</h1>" in page and 'href="/login/second-factor?method=webauthn"' in page
    assert "data-webauthn" in client.get("/login/second-factor?method=webauthn").get_data(as_text=True)
    response = submit_assertion(client, key.get(second_factor_options(client)))
    assert response.status_code == 303
    assert "hwk" in db.session.query(LoginSession).order_by(LoginSession.id.desc()).first().amr


def test_an_assertion_works_once(app, client, key):
    password_login(client)
    answer = key.get(second_factor_options(client))
    assert submit_assertion(client, answer).status_code == 303
    again = app.test_client()
    password_login(again)
    response = submit_assertion(again, answer)
    assert response.status_code == 401 and error_of(response) == SECOND_FACTOR_FAILED


def test_an_assertion_for_another_sign_in_is_refused(app, client, key):
    password_login(client)
    answer = key.get(second_factor_options(client))
    other = app.test_client()
    password_login(other)
    assert submit_assertion(other, answer).status_code == 401
    assert audit_events("second_factor_failed")[-1].details["method"] == "webauthn"
    assert submit_assertion(client, answer).status_code == 303  # still good where it belongs


def test_an_assertion_from_another_origin_is_refused(client, key):
    password_login(client)
    response = submit_assertion(client, key.get(second_factor_options(client), origin="http://localhost:9999"))
    assert response.status_code == 401


def test_a_counter_going_backwards_is_refused_and_audited(client, key):
    password_login(client)
    submit_assertion(client, key.get(second_factor_options(client), counter=10))
    post(client, "/logout")
    password_login(client)
    response = submit_assertion(client, key.get(second_factor_options(client), counter=4))
    assert response.status_code == 401
    assert audit_events("webauthn_clone_warning")[0].details["presented_count"] == 4


def test_failed_keys_count_toward_the_second_factor_throttle(client, user, key):
    password_login(client)
    for _ in range(5):
        submit_assertion(client, "{}")
    good = submit_assertion(client, key.get(second_factor_options(client)))
    assert good.status_code == 401  # locked for a while, even with the right key
    assert throttle.locked_until(throttle.second_factor_key(user.id)) is not None


def test_the_security_key_step_says_so_when_the_sign_in_expired(client, key):
    assert post(client, "/login/second-factor/webauthn").status_code == 400


# --- passwordless --------------------------------------------------------------------------------------------

def test_the_login_page_offers_a_passkey(client, key):
    page = client.get("/login").get_data(as_text=True)
    assert "Sign in with a passkey" in page and '<script src="/static/webauthn.js">' in page


@pytest.mark.settings(issuer="http://127.0.0.1:9000")
def test_no_passkey_button_when_the_issuer_is_an_ip_address(client):
    assert "Sign in with a passkey" not in client.get("/login").get_data(as_text=True)
    assert post(client, "/login/passkey/options").status_code == 404


def test_passkey_options_name_no_credentials_and_require_user_verification(client, key):
    options = passkey_options(client)
    assert options.get("allowCredentials", []) == [] and options["userVerification"] == "required"


def test_a_passkey_signs_in_without_a_password_as_multi_factor(client, rp, key):
    authz, uid = _authorize(client, rp)
    response = passkey_login(client, key.get(passkey_options(client)), uid)
    assert response.status_code == 303
    claims = id_token_claims(client, authz, _code(client, response))
    assert claims["amr"] == ["hwk", "user", "pin", "mfa"] and claims["acr"] == ACR_MFA
    event = audit_events("login_success")[-1]
    assert event.details["method"] == "passkey" and "pwd" not in event.details["amr"]


def test_a_passkey_session_is_single_sign_on_for_the_next_client(client, rp, make_client, key):
    passkey_login(client, key.get(passkey_options(client)))
    other = make_client("http://127.0.0.1:9001/callback", name="CRI")
    authz = AuthorizationRequest(other)
    response = client.get(authz.url())
    assert response.status_code == 302 and "code" in query(response.location)


def test_a_passkey_without_user_verification_is_refused(client, key):
    response = passkey_login(client, key.get(passkey_options(client), uv=False))
    assert response.status_code == 401 and error_of(response) == PASSKEY_FAILED
    assert audit_events("login_failed")[-1].details["method"] == "passkey"


def test_an_unknown_passkey_gets_the_same_answer(client, key):
    response = passkey_login(client, SoftAuthenticator(user_handle=b"x").get(passkey_options(client)))
    assert response.status_code == 401 and error_of(response) == PASSKEY_FAILED


def test_a_passkey_challenge_is_bound_to_the_browser_and_works_once(app, client, key):
    answer = key.get(passkey_options(client))
    assert passkey_login(app.test_client(), answer).status_code == 401
    assert passkey_login(client, answer).status_code == 303
    post(client, "/logout")
    assert passkey_login(client, answer).status_code == 401


def test_a_passkey_challenge_expires(client, key):
    options = passkey_options(client)
    later = idp.clock.now() + timedelta(seconds=301)
    with mock.patch("idp.clock.now", return_value=later):
        assert passkey_login(client, key.get(options)).status_code == 401


def test_a_disabled_user_cannot_sign_in_with_a_passkey(client, user, key):
    user.disabled = True
    db.session.commit()
    response = passkey_login(client, key.get(passkey_options(client)))
    assert response.status_code == 401 and error_of(response) == PASSKEY_FAILED
    assert audit_events("login_failed")[-1].details["reason"] == "user disabled"


def test_a_password_set_by_an_administrator_is_replaced_first(client, rp, user, key):
    user.password_change_required = True
    db.session.commit()
    authz, uid = _authorize(client, rp)
    response = passkey_login(client, key.get(passkey_options(client)), uid)
    assert response.location == "/login/new-password"
    assert client.get(authz.url()).status_code == 303  # no session yet
    done = post(client, "/login/new-password", new_password="my very own passphrase",
                repeat_password="my very own passphrase")
    assert done.status_code == 303
    claims = id_token_claims(client, authz, _code(client, done))
    assert claims["amr"] == ["hwk", "user", "pin", "mfa"]


def test_a_locked_password_blocks_the_passkey_too(client, user, key):
    for _ in range(5):
        password_login(client, password="wrong password")
    response = passkey_login(client, key.get(passkey_options(client)))
    assert response.status_code == 401 and audit_events("login_failed")[-1].details["reason"] == "throttled"


def test_failed_passkeys_are_throttled_per_user(client, user, key):
    for _ in range(5):
        passkey_login(client, key.get(passkey_options(client), uv=False))
    response = passkey_login(client, key.get(passkey_options(client)))
    assert response.status_code == 401 and audit_events("login_failed")[-1].details["reason"] == "throttled"


def test_a_passkey_with_a_counter_going_backwards_is_refused(client, key):
    assert passkey_login(client, key.get(passkey_options(client), counter=3)).status_code == 303
    post(client, "/logout")
    assert passkey_login(client, key.get(passkey_options(client), counter=2)).status_code == 401
    assert audit_events("webauthn_clone_warning")


def _twin(app, source):
    twin = app.test_client()
    for cookie in source._cookies.values():
        twin.set_cookie(cookie.key, cookie.value, domain=cookie.domain, path=cookie.path)
    return twin


def test_racing_the_same_passkey_answer_gives_exactly_one_session(app, client, key):
    answer = key.get(passkey_options(client))
    token = csrf(client)
    browsers = [client] + [_twin(app, client) for _ in range(3)]
    results = race(app, browsers, lambda b: b.post("/login/passkey", data={"csrf_token": token, "credential": answer}))
    assert sorted(status for status, _ in results) == [303, 401, 401, 401]


def test_racing_the_same_security_key_answer_completes_one_login(app, client, key):
    password_login(client)
    answer = key.get(second_factor_options(client))
    token = csrf(client)
    browsers = [client] + [_twin(app, client) for _ in range(3)]
    results = race(app, browsers, lambda b: b.post("/login/second-factor", data={
        "csrf_token": token, "method": "webauthn", "code": answer}))
    assert sorted(status for status, _ in results).count(303) == 1
