"""The owner's actions on people: disable (ends sessions, revokes tokens), enable, remove, require 2FA; audited."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from helpers import TEST_PASSWORD, AuthorizationRequest, Browser, assert_redirect_error, query
from idp.extensions import db
from idp.models import AuditEvent, LoginSession, Token
from people_helpers import (  # noqa: F401  (member and owner are fixtures)
    add_person, audit_events, error_of, give_totp, member, new_browser, owner, post, set_password, sign_in, user_named,
)


@pytest.fixture
def authz(rp):
    return AuthorizationRequest(rp, scope="openid profile email offline_access")


@pytest.fixture
def dana_tokens(client, authz, member) -> dict:
    """Dana signed in to a client in her own browser: SSO session plus access and refresh tokens."""
    code = Browser(client).code(authz, "dana", TEST_PASSWORD)
    response = client.post("/token", data=authz.token_form(code), headers=authz.basic_auth())
    assert response.status_code == 200, response.json
    return response.json


@pytest.fixture
def owner_browser(client, owner):
    browser = new_browser(client)
    sign_in(browser, "olivia")
    return browser


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_disabling_a_user_ends_their_sso_session_and_revokes_their_tokens(client, authz, dana_tokens, owner_browser,
                                                                          member):
    assert client.get("/userinfo", headers=bearer(dana_tokens["access_token"])).status_code == 200
    assert "code" in query(client.get(AuthorizationRequest(authz.client).url(prompt="none")).location)  # SSO works
    response = post(owner_browser, f"/account/users/{member.id}/disable")
    assert response.status_code == 303 and response.location.endswith("/account/users")
    assert "dana is disabled" in owner_browser.get(response.location).get_data(as_text=True)

    assert_redirect_error(client.get(AuthorizationRequest(authz.client).url(prompt="none")), "login_required")
    assert client.get("/userinfo", headers=bearer(dana_tokens["access_token"])).status_code == 401
    refresh = client.post("/token", data={"grant_type": "refresh_token", "refresh_token": dana_tokens["refresh_token"]},
                          headers=authz.basic_auth())
    assert refresh.status_code == 400 and refresh.json["error"] == "invalid_grant"
    db.session.expire_all()
    assert all(ls.ended_at is not None
               for ls in db.session.scalars(sa.select(LoginSession).where(LoginSession.user_id == member.id)))
    assert all(t.revoked_at is not None for t in db.session.scalars(sa.select(Token)))
    assert post(new_browser(client), "/login", username="dana", password=TEST_PASSWORD).status_code == 401


def test_enabling_a_disabled_user_lets_them_sign_in_again(client, owner_browser, member):
    post(owner_browser, f"/account/users/{member.id}/disable")
    assert "Disabled" in owner_browser.get("/account/users").get_data(as_text=True)
    response = post(owner_browser, f"/account/users/{member.id}/enable")
    assert response.status_code == 303
    assert not user_named("dana").disabled
    sign_in(client, "dana")


def test_removing_a_user_deletes_them_and_their_sessions_and_tokens(client, dana_tokens, owner_browser, member,
                                                                     owner):
    dana_id = member.id
    response = post(owner_browser, f"/account/users/{dana_id}/remove")
    assert response.status_code == 303
    assert "dana was removed" in owner_browser.get(response.location).get_data(as_text=True)
    assert user_named("dana") is None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Token)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(LoginSession).where(
        LoginSession.user_id == dana_id)) == 0
    assert client.get("/userinfo", headers=bearer(dana_tokens["access_token"])).status_code == 401
    [event] = audit_events("person_removed")
    assert (event.actor_id, event.account_id, event.details["username"]) == (owner.id, owner.account_id, "dana")


@pytest.mark.parametrize("action", ["disable", "remove"])
def test_owner_cannot_disable_or_remove_themself(owner_browser, owner, action):
    response = post(owner_browser, f"/account/users/{owner.id}/{action}")
    assert response.status_code == 400
    assert error_of(response) == f"You cannot {action} your own login."
    olivia = user_named("olivia")
    assert olivia is not None and not olivia.disabled
    assert owner_browser.get("/account/users").status_code == 200  # still signed in


def test_users_page_shows_who_has_two_factor_authentication(owner_browser, member, make_user):
    give_totp(member)
    make_user("erin")
    page = owner_browser.get("/account/users").get_data(as_text=True)
    dana_row = page.split(f'id="person-{member.id}"')[1].split("</tr>")[0]
    erin_row = page.split(f'id="person-{user_named("erin").id}"')[1].split("</tr>")[0]
    assert "Authenticator app" in dana_row and "On" in dana_row
    assert "Off" in erin_row


def test_require_2fa_sends_a_member_without_a_second_factor_to_enrolment_after_the_password(client, rp, owner_browser,
                                                                                             member):
    response = post(owner_browser, "/account/users/require-2fa", required="1")
    assert response.status_code == 303
    assert "now required" in owner_browser.get(response.location).get_data(as_text=True)
    assert user_named("dana").account.require_2fa is True

    authz = AuthorizationRequest(rp)
    response = client.get(authz.url())
    uid = query(response.location)["uid"]
    response = Browser(client).submit_login(response.location, "dana", TEST_PASSWORD)
    assert response.status_code == 303, error_of(response)
    response = client.get(response.location)  # resume: the policy asks for enrolment before any code
    assert response.status_code == 303
    assert response.location == f"/account/security?uid={uid}"
    assert "requires two-factor authentication" in client.get(response.location).get_data(as_text=True)

    post(owner_browser, "/account/users/require-2fa", required="0")
    assert user_named("dana").account.require_2fa is False


def test_every_action_writes_an_audit_event_naming_the_owner(client, owner_browser, owner, member):
    link = add_person(owner_browser)
    set_password(new_browser(client), link)
    for action in ("disable", "enable", "remove"):
        post(owner_browser, f"/account/users/{member.id}/{action}")
    post(owner_browser, "/account/users/require-2fa", required="1")
    post(owner_browser, "/account/users/require-2fa", required="0")
    sam = user_named("sam")
    mine = ["person_added", "password_set_by_setup_link", "person_disabled", "person_enabled", "person_removed",
            "require_2fa_on", "require_2fa_off"]
    events = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.event.in_(mine)).order_by(AuditEvent.id)).all()
    assert [(e.event, e.actor_id, e.details.get("username")) for e in events] == [
        ("person_added", owner.id, "sam"),
        ("password_set_by_setup_link", sam.id, None),
        ("person_disabled", owner.id, "dana"),
        ("person_enabled", owner.id, "dana"),
        ("person_removed", owner.id, "dana"),
        ("require_2fa_on", owner.id, None),
        ("require_2fa_off", owner.id, None),
    ]
    assert events[1].subject_id == sam.id and events[5].subject_id == owner.id
    assert all(e.account_id == owner.account_id for e in events)
