"""OIDC Core 3.1.2.1 parameters read by the interaction policy, and the SSO session's idle and absolute limits."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import sqlalchemy as sa

from helpers import TEST_PASSWORD, AuthorizationRequest, Browser, decode_id_token, query
from idp import clock
from idp.extensions import db
from idp.models import AuditEvent


def _later(seconds):
    return mock.patch("idp.clock.now", return_value=clock.now() + timedelta(seconds=seconds))


def _id_token(client, authz, code):
    body = client.post("/token", data=authz.token_form(code), headers=authz.basic_auth()).json
    return body["id_token"], decode_id_token(body["id_token"], client.get("/jwks.json").json).claims


def test_max_age_older_than_the_login_forces_a_new_login_and_updates_auth_time(client, browser, authz, rp, user):
    _, first = _id_token(client, authz, browser.code(authz, "dana", TEST_PASSWORD))
    with _later(120):
        again = AuthorizationRequest(rp)
        response = client.get(again.url(max_age="60"))
        assert response.status_code == 303 and "/login" in response.location
        code = browser.code(again, "dana", TEST_PASSWORD, max_age="60")
        _, second = _id_token(client, again, code)
    assert second["auth_time"] >= first["auth_time"] + 120


def test_max_age_within_the_limit_uses_the_session(client, browser, authz, rp, user):
    browser.code(authz, "dana", TEST_PASSWORD)
    with _later(30):
        response = client.get(AuthorizationRequest(rp).url(max_age="3600"))
    assert response.status_code == 302 and "code" in query(response.location)


def test_login_hint_prefills_the_username(client, authz):
    response = client.get(authz.url(login_hint="dana"))
    page = client.get(response.location).get_data(as_text=True)
    assert 'value="dana"' in page


def test_id_token_hint_for_the_signed_in_user_allows_prompt_none(client, browser, authz, rp, user):
    id_token, _ = _id_token(client, authz, browser.code(authz, "dana", TEST_PASSWORD))
    response = client.get(AuthorizationRequest(rp).url(prompt="none", id_token_hint=id_token))
    assert "code" in query(response.location)


def test_id_token_hint_for_another_user_gets_login_required_under_prompt_none(client, browser, authz, rp, user,
                                                                                make_user, app):
    make_user("kim")
    other = app.test_client()
    other_authz = AuthorizationRequest(rp)
    kim_token, _ = _id_token(other, other_authz, Browser(other).code(other_authz, "kim", TEST_PASSWORD))
    browser.code(authz, "dana", TEST_PASSWORD)
    response = client.get(AuthorizationRequest(rp).url(prompt="none", id_token_hint=kim_token))
    assert query(response.location)["error"] == "login_required"


def test_a_forged_id_token_hint_is_not_trusted(client, browser, authz, rp, user):
    browser.code(authz, "dana", TEST_PASSWORD)
    response = client.get(AuthorizationRequest(rp).url(prompt="none", id_token_hint="eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."))
    assert query(response.location)["error"] == "login_required"


def test_idle_session_ends_after_the_idle_timeout(client, browser, authz, rp, user, settings):
    browser.code(authz, "dana", TEST_PASSWORD)
    with _later(settings.session.idle_timeout + 60):
        response = client.get(AuthorizationRequest(rp).url(prompt="none"))
    assert query(response.location)["error"] == "login_required"


def test_active_session_ends_after_the_absolute_lifetime(client, browser, authz, rp, user, settings):
    browser.code(authz, "dana", TEST_PASSWORD)
    step = settings.session.idle_timeout - 60
    elapsed = 0
    while elapsed + step < settings.session.lifetime:  # stay active: never idle past the limit
        elapsed += step
        with _later(elapsed):
            assert client.get(AuthorizationRequest(rp).url(prompt="none")).status_code == 302
    with _later(settings.session.lifetime + 1):
        response = client.get(AuthorizationRequest(rp).url(prompt="none"))
    assert query(response.location)["error"] == "login_required"


def test_refresh_token_reuse_is_audited(client, browser, authz, user):
    tokens = client.post("/token", data=authz.token_form(browser.code(authz, "dana", TEST_PASSWORD)),
                         headers=authz.basic_auth()).json
    form = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    assert client.post("/token", data=form, headers=authz.basic_auth()).status_code == 200
    assert client.post("/token", data=form, headers=authz.basic_auth()).status_code == 400
    events = db.session.scalars(sa.select(AuditEvent.event)).all()
    assert "refresh_token_reused" in events


def test_secure_host_prefixed_cookies_under_an_https_issuer(app, settings, make_client):
    from idp import create_app

    url = AuthorizationRequest(make_client()).url()
    db.session.rollback()  # SQLite: release this test's transaction before the second app writes
    https_app = create_app(settings.replace(issuer="https://login.example.com"))
    login = https_app.test_client().get(url, base_url="https://login.example.com")
    cookie = login.headers["Set-Cookie"]
    assert cookie.startswith("__Host-idp_flow=") and "Secure" in cookie and "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie and "Domain" not in cookie


def test_a_client_that_requires_2fa_sends_a_user_without_one_to_enrol(client, browser, make_client, user):
    rp = make_client()
    rp.requires_2fa = True
    db.session.commit()
    authz = AuthorizationRequest(rp)
    response = browser.authorize(authz, "dana", TEST_PASSWORD)
    assert response.status_code == 303 and response.location.startswith("/account/security?uid=")
