"""Remembered browsers, the list of sessions with sign-out, and the password change that ends other sessions."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pyotp
import pytest
import sqlalchemy as sa

from helpers import TEST_PASSWORD, AuthorizationRequest, Browser, csrf_token, decode_id_token, query
from idp import clock
from idp.extensions import db
from idp.models import LoginSession, TotpCredential
from idp.security.crypto import encrypt

SECRET = pyotp.random_base32()


@pytest.fixture
def totp_user(user):
    db.session.add(TotpCredential(user_id=user.id, secret_encrypted=encrypt(SECRET), confirmed_at=clock.now()))
    user.default_method = "totp"
    db.session.commit()
    return user


def _password(browser, authz, **changes):
    response = browser.client.get(authz.url(**changes))
    return browser.submit_login(response.location, "dana", TEST_PASSWORD)


def _second_factor(client, remember=False, offset=0):
    page = client.get("/login/second-factor").get_data(as_text=True)
    form = {"csrf_token": csrf_token(page), "method": "totp", "code": pyotp.TOTP(SECRET).at(clock.now().timestamp() + offset)}
    if remember:
        form["remember"] = "1"
    return client.post("/login/second-factor", data=form), page


def _logout(client):
    page = client.get("/logout").get_data(as_text=True)
    client.post("/logout", data={"csrf_token": csrf_token(page)})


def _id_token_claims(client, authz, location):
    token = client.post("/token", data=authz.token_form(query(location)["code"]), headers=authz.basic_auth()).json
    return decode_id_token(token["id_token"], client.get("/jwks.json").json).claims


def test_remembered_browser_skips_the_second_factor_and_says_so_in_amr(app, client, authz, rp, totp_user):
    browser = Browser(client)
    assert "/login/second-factor" in _password(browser, authz).location
    response, page = _second_factor(client, remember=True)
    assert "Remember this browser" in page
    assert response.status_code == 303
    _logout(client)
    second = AuthorizationRequest(rp)
    response = _password(browser, second)
    assert "/authorize/resume/" in response.location  # no second factor this time
    final = client.get(response.location)
    claims = _id_token_claims(client, second, final.location)
    assert claims["amr"] == ["pwd"] and claims["acr"] == "urn:idp:acr:password"


def test_client_asking_for_mfa_still_gets_the_second_factor_on_a_remembered_browser(client, authz, rp, totp_user):
    browser = Browser(client)
    _password(browser, authz)
    _second_factor(client, remember=True)
    _logout(client)
    step_up = AuthorizationRequest(rp)
    response = _password(browser, step_up, acr_values="urn:idp:acr:mfa")
    response = client.get(response.location)
    assert response.status_code == 303 and "/login/second-factor" in response.location


def test_a_browser_is_not_remembered_after_forget_all(client, authz, rp, totp_user):
    browser = Browser(client)
    _password(browser, authz)
    _second_factor(client, remember=True)
    page = client.get("/account/security").get_data(as_text=True)
    assert "Remembered browsers" in page and "Forget all" in page
    client.post("/account/devices/forget", data={"csrf_token": csrf_token(page)})
    _logout(client)
    assert "/login/second-factor" in _password(browser, AuthorizationRequest(rp)).location


def test_admins_are_not_offered_to_remember_a_browser(client, authz, totp_user):
    totp_user.role = "admin"
    db.session.commit()
    _password(Browser(client), authz)
    page = client.get("/login/second-factor").get_data(as_text=True)
    assert "Remember this browser" not in page


def test_signing_out_another_session_ends_it_and_revokes_its_tokens(app, client, authz, rp, user):
    other = app.test_client()
    other_authz = AuthorizationRequest(rp)
    code = Browser(other).code(other_authz, "dana", TEST_PASSWORD)
    tokens = other.post("/token", data=other_authz.token_form(code), headers=other_authz.basic_auth()).json
    Browser(client).code(authz, "dana", TEST_PASSWORD)
    page = client.get("/account/security").get_data(as_text=True)
    assert page.count("Sign out</button>") == 1  # the other session; this one is marked "This browser"
    other_id = db.session.scalars(sa.select(LoginSession.id).order_by(LoginSession.id)).first()
    client.post("/account/sessions/end", data={"csrf_token": csrf_token(page), "session_id": other_id})
    response = other.get(other_authz.url(prompt="none", nonce="n2"))
    assert query(response.location)["error"] == "login_required"
    refreshed = other.post("/token", data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
                           headers=other_authz.basic_auth())
    assert refreshed.json["error"] == "invalid_grant"
    assert client.get(authz.url(prompt="none", nonce="n3")).status_code == 302  # this session lives on


def test_password_change_needs_the_current_password_and_ends_other_sessions(app, client, authz, rp, user):
    other = app.test_client()
    Browser(other).code(AuthorizationRequest(rp), "dana", TEST_PASSWORD)
    Browser(client).code(authz, "dana", TEST_PASSWORD)
    page = client.get("/account/password").get_data(as_text=True)
    assert 'autocomplete="new-password"' in page
    wrong = client.post("/account/password", data={"csrf_token": csrf_token(page), "current_password": "nope nope",
                                                    "new_password": "a brand new passphrase",
                                                    "repeat_password": "a brand new passphrase"})
    assert wrong.status_code == 400 and b"Incorrect password" in wrong.data
    weak = client.post("/account/password", data={"csrf_token": csrf_token(page), "current_password": TEST_PASSWORD,
                                                   "new_password": "short", "repeat_password": "short"})
    assert weak.status_code == 400
    ok = client.post("/account/password", data={"csrf_token": csrf_token(page), "current_password": TEST_PASSWORD,
                                                 "new_password": "a brand new passphrase",
                                                 "repeat_password": "a brand new passphrase"})
    assert ok.status_code == 303
    response = other.get(AuthorizationRequest(rp).url(prompt="none"))
    assert query(response.location)["error"] == "login_required"
    assert client.get(authz.url(prompt="none", nonce="again")).status_code == 302


def test_remembered_browser_expires(client, authz, rp, totp_user, settings):
    browser = Browser(client)
    _password(browser, authz)
    _second_factor(client, remember=True)
    _logout(client)
    later = clock.now() + timedelta(seconds=settings.session.remember_device_lifetime + 60)
    with mock.patch("idp.clock.now", return_value=later):
        assert "/login/second-factor" in _password(browser, AuthorizationRequest(rp)).location
