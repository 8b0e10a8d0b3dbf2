"""The password step: one message for every failure, rehash, session renewal, logout, malformed input."""

from __future__ import annotations

import sqlalchemy as sa

from helpers import TEST_PASSWORD, csrf_token, query
from idp.extensions import db
from idp.models import LoginSession, User


def _login(client, username, password, uid=None):
    page = client.get("/login" + (f"?uid={uid}" if uid else ""))
    form = {"csrf_token": csrf_token(page.get_data(as_text=True)), "username": username, "password": password}
    if uid:
        form["uid"] = uid
    return client.post("/login", data=form)


def test_login_page_has_autocomplete_hints_and_csrf(client):
    html = client.get("/login").get_data(as_text=True)
    assert 'autocomplete="username"' in html
    assert 'autocomplete="current-password"' in html
    assert 'name="csrf_token"' in html


def test_wrong_password_and_unknown_user_get_the_same_answer(client, user):
    wrong = _login(client, "dana", "not the password")
    unknown = _login(client, "nobody-here", "not the password")
    assert wrong.status_code == unknown.status_code == 401
    assert b"Incorrect username or password." in wrong.data
    assert b"Incorrect username or password." in unknown.data


def test_disabled_user_gets_the_same_answer(client, user):
    user.disabled = True
    db.session.commit()
    response = _login(client, "dana", TEST_PASSWORD)
    assert response.status_code == 401
    assert b"Incorrect username or password." in response.data


def test_login_without_csrf_token_is_refused(client, user):
    response = client.post("/login", data={"username": "dana", "password": TEST_PASSWORD})
    assert response.status_code == 400
    assert "idp_session" not in response.headers.get("Set-Cookie", "")


def test_successful_login_answers_303_and_sets_a_new_session_cookie_each_time(client, user, authz):
    first = _login(client, "dana", TEST_PASSWORD)
    assert first.status_code == 303
    cookie1 = client.get_cookie("idp_session").value
    second = _login(client, "dana", TEST_PASSWORD)
    cookie2 = client.get_cookie("idp_session").value
    assert second.status_code == 303 and cookie1 != cookie2
    client.set_cookie("idp_session", cookie1)  # the old value is dead server-side
    assert query(client.get(authz.url(prompt="none")).location)["error"] == "login_required"


def test_another_user_logging_in_ends_the_previous_session(client, user, make_user):
    make_user("kim")
    _login(client, "dana", TEST_PASSWORD)
    _login(client, "kim", TEST_PASSWORD)
    sessions = db.session.scalars(sa.select(LoginSession).order_by(LoginSession.id)).all()
    assert sessions[0].ended_at is not None and sessions[1].ended_at is None


def test_password_is_rehashed_when_parameters_change(app, client, user):
    old_hash = user.password_hash
    app.extensions["idp.passwords"] = type(app.extensions["idp.passwords"])(
        app.config["IDP_SETTINGS"].passwords.__class__(time_cost=2, memory_cost=2048, parallelism=1))
    assert _login(client, "dana", TEST_PASSWORD).status_code == 303
    db.session.expire_all()
    new_hash = db.session.get(User, user.id).password_hash
    assert new_hash != old_hash and "m=2048,t=2" in new_hash


def test_logout_ends_the_session_server_side(client, browser, authz, user):
    browser.code(authz, "dana", TEST_PASSWORD)
    stolen = client.get_cookie("idp_session").value
    page = client.get("/logout")
    client.post("/logout", data={"csrf_token": csrf_token(page.get_data(as_text=True))})
    client.set_cookie("idp_session", stolen)  # replaying the old cookie does not bring the session back
    response = client.get(authz.url(prompt="none", nonce="another-nonce"))
    assert query(response.location)["error"] == "login_required"


def test_oversized_credentials_are_refused_without_error(client, user):
    response = _login(client, "d" * 5000, "p" * 5000)
    assert response.status_code == 401


def test_oversized_body_gets_413_not_500(client):
    response = client.post("/login", data={"username": "x" * 70000, "password": "y"})
    assert response.status_code == 413


def test_unknown_interaction_uid_shows_an_error_page(client):
    response = client.get("/login?uid=doesnotexist")
    assert response.status_code == 400
    assert b"expired or is not valid" in response.data
