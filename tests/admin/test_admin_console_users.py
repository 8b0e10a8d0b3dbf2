"""The console's accounts and users pages: create an account and a user, disable, enable, delete, set a password,
reset 2FA; every action audited with the admin as actor."""

from __future__ import annotations

import sqlalchemy as sa

from admin_helpers import (NEW_PASSWORD, admin, audit_events, console, give_totp,  # noqa: F401 (fixtures)
                           new_browser, sign_in, signed_in, user_named)
from helpers import TEST_PASSWORD, error_of, post
from idp import clock
from idp.auth import devices
from idp.extensions import db
from idp.models import Account, RecoveryCode, RememberedDevice, SmsPhone, TotpCredential


def _member_signed_in(client, make_user, username: str = "dana"):
    """A member of Acme Reseller and a browser of theirs with a live session."""
    person = make_user(username)
    browser = new_browser(client)
    sign_in(browser, username)
    assert signed_in(browser)
    return person, browser


def test_admin_creates_an_account(console, admin):
    response = post(console, "/admin/accounts", name="Globex Hosting", require_2fa="1")
    assert response.status_code == 303 and response.location == "/admin/accounts"
    account = db.session.scalar(sa.select(Account).where(Account.name == "Globex Hosting"))
    assert account.require_2fa
    event, = audit_events("account_created")
    assert event.actor_id == admin.id and event.account_id == account.id and event.details["via"] == "console"
    assert "Globex Hosting" in console.get("/admin/accounts").get_data(as_text=True)
    taken = post(console, "/admin/accounts", name="Globex Hosting")
    assert taken.status_code == 400 and "taken" in error_of(taken)


def test_admin_creates_a_user_who_must_change_the_password(console, admin):
    post(console, "/admin/accounts", name="Globex Hosting")
    response = post(console, "/admin/users", account="Globex Hosting", username="gina", email="gina@globex.example",
                    display_name="Gina", role="owner", password=NEW_PASSWORD)
    assert response.status_code == 303
    gina = user_named("gina")
    assert gina.account.name == "Globex Hosting" and gina.role == "owner" and gina.password_change_required
    assert audit_events("user_created")[0].actor_id == admin.id
    weak = post(console, "/admin/users", account="Globex Hosting", username="gus", email="gus@globex.example",
                role="member", password="password")
    assert weak.status_code == 400 and "Password" in error_of(weak) and user_named("gus") is None


def test_disabling_a_user_ends_their_session_and_enabling_lets_them_back(client, console, admin, make_user):
    dana, browser = _member_signed_in(client, make_user)
    response = post(console, f"/admin/users/{dana.id}/disable")
    assert response.status_code == 303 and response.location == "/admin/users"
    assert user_named("dana").disabled and not signed_in(browser)
    event, = audit_events("person_disabled")
    assert event.actor_id == admin.id and event.subject_id == dana.id
    assert post(browser, "/login", username="dana", password=TEST_PASSWORD).status_code == 401
    assert post(console, f"/admin/users/{dana.id}/enable").status_code == 303
    assert not user_named("dana").disabled
    assert audit_events("person_enabled")[0].actor_id == admin.id
    sign_in(browser, "dana")


def test_admin_deletes_a_user(console, admin, make_user):
    dana = make_user("dana")
    assert post(console, f"/admin/users/{dana.id}/delete").status_code == 303
    assert user_named("dana") is None
    event, = audit_events("person_removed")
    assert event.actor_id == admin.id and event.details["username"] == "dana"
    assert post(console, f"/admin/users/{dana.id}/delete").status_code == 404


def test_admin_cannot_disable_or_delete_their_own_login(console, admin):
    for action in ("disable", "delete"):
        response = post(console, f"/admin/users/{admin.id}/{action}")
        assert response.status_code == 400 and "your own login" in error_of(response)
    assert not user_named("ada").disabled


def test_set_password_forces_a_change_and_the_user_signs_in_with_it(client, console, admin, make_user):
    dana, browser = _member_signed_in(client, make_user)
    old_hash = dana.password_hash
    response = post(console, f"/admin/users/{dana.id}/password", password=NEW_PASSWORD)
    assert response.status_code == 303
    dana = user_named("dana")
    assert dana.password_change_required and dana.password_hash != old_hash and NEW_PASSWORD not in dana.password_hash
    assert not signed_in(browser)
    event, = audit_events("password_set_by_admin")
    assert event.actor_id == admin.id and event.subject_id == dana.id and NEW_PASSWORD not in str(event.details)
    assert post(browser, "/login", username="dana", password=TEST_PASSWORD).status_code == 401
    assert sign_in(browser, "dana", NEW_PASSWORD).location == "/login/new-password"
    weak = post(console, f"/admin/users/{dana.id}/password", password="short")
    assert weak.status_code == 400 and "Password" in error_of(weak)


def _give_every_factor(user) -> None:
    give_totp(user)
    db.session.add(SmsPhone(user_id=user.id, number_encrypted="x", number_hint="+44 ••••••456",
                            confirmed_at=clock.now()))
    db.session.add(RecoveryCode(user_id=user.id, lookup="ab", code_hash="x"))
    db.session.add(RememberedDevice(user_id=user.id, token_hash="d" * 64, expires_at=clock.now().replace(year=2999)))
    db.session.commit()


def _count(model, user) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(model.user_id == user.id))


def test_reset_2fa_with_a_reason_removes_every_factor_and_records_the_reason(client, console, admin, make_user):
    dana, browser = _member_signed_in(client, make_user)
    _give_every_factor(dana)
    reason = "Called back on the number in the contract; passport checked on video"
    response = post(console, f"/admin/users/{dana.id}/reset-2fa", reason=reason)
    assert response.status_code == 303
    dana = user_named("dana")
    assert [_count(m, dana) for m in (TotpCredential, SmsPhone, RecoveryCode)] == [0, 0, 0]
    assert dana.default_method is None and devices.devices_of(dana) == [] and not signed_in(browser)
    event, = audit_events("two_factor_reset")
    assert event.actor_id == admin.id and event.subject_id == dana.id
    assert event.details["reason"] == reason and event.details["methods"] == ["totp", "sms"]
    assert sign_in(browser, "dana").location == "/"  # the password alone now


def test_reset_2fa_without_a_reason_is_refused(console, make_user):
    dana = make_user("dana")
    _give_every_factor(dana)
    for reason in ("", "   "):
        response = post(console, f"/admin/users/{dana.id}/reset-2fa", reason=reason)
        assert response.status_code == 400 and "Reason" in error_of(response)
    assert _count(TotpCredential, dana) == 1 and _count(RecoveryCode, dana) == 1
    assert audit_events("two_factor_reset") == []


def test_user_list_shows_methods_and_last_login_and_filters(client, console, admin, make_user):
    dana, _ = _member_signed_in(client, make_user)
    give_totp(dana)
    make_user("bob", account="Globex Hosting")
    post(console, f"/admin/users/{make_user('carl').id}/disable")

    def usernames(**query):
        page = console.get("/admin/users", query_string=query).get_data(as_text=True)
        return {name for name in ("ada", "bob", "carl", "dana") if f'id="user-{user_named(name).id}"' in page}

    page = console.get("/admin/users").get_data(as_text=True)
    assert "Authenticator app" in page and "Never" in page and " UTC" in page
    assert usernames() == {"ada", "bob", "carl", "dana"}
    assert usernames(account="Globex Hosting") == {"bob"}
    assert usernames(two_factor="totp") == {"ada", "dana"}
    assert usernames(two_factor="off") == {"bob", "carl"}
    assert usernames(status="disabled") == {"carl"}
    assert usernames(inactive_since="2999-01-01") == {"ada", "bob", "carl", "dana"}
    assert usernames(inactive_since="2000-01-01") == {"bob", "carl"}  # never signed in
