"""The ``idp accounts`` and ``idp users`` commands: the same results as the console, through the same service."""

from __future__ import annotations

import json

import sqlalchemy as sa

from admin_helpers import NEW_PASSWORD, audit_events, give_totp, new_browser, sign_in, signed_in, user_named
from helpers import TEST_PASSWORD, post
from idp import clock
from idp.cli import cli
from idp.extensions import db
from idp.models import Account, RecoveryCode, TotpCredential


def _invoke(app, *args, input=None):
    result = app.test_cli_runner().invoke(cli, args=list(args), input=input)
    db.session.expire_all()
    return result


def test_accounts_create(app):
    result = _invoke(app, "accounts", "create", "Globex Hosting", "--require-2fa", "--json")
    assert result.exit_code == 0, result.output
    account = db.session.scalar(sa.select(Account).where(Account.name == "Globex Hosting"))
    assert json.loads(result.output)["id"] == account.id and account.require_2fa
    event, = audit_events("account_created")
    assert event.actor_id is None and event.details["via"] == "cli" and event.account_id == account.id
    taken = _invoke(app, "accounts", "create", "Globex Hosting")
    assert taken.exit_code != 0 and "taken" in taken.output


def test_accounts_list(app, make_user):
    make_user("dana")
    make_user("sam")
    _invoke(app, "accounts", "create", "Globex Hosting")
    rows = json.loads(_invoke(app, "accounts", "list", "--json").output)
    assert [(r["name"], r["users"], r["require_2fa"]) for r in rows] == [("Acme Reseller", 2, False),
                                                                         ("Globex Hosting", 0, False)]
    table = _invoke(app, "accounts", "list").output
    assert table.splitlines()[0].split() == ["id", "name", "require_2fa", "users", "created_at"]


def test_users_disable_ends_the_session(app, client, make_user):
    make_user("dana")
    sign_in(client, "dana")
    result = _invoke(app, "users", "disable", "dana")
    assert result.exit_code == 0, result.output
    assert user_named("dana").disabled and not signed_in(client)
    event, = audit_events("person_disabled")
    assert event.actor_id is None and event.subject_id == user_named("dana").id
    assert _invoke(app, "users", "disable", "nobody").exit_code != 0


def test_users_enable(app, client, make_user):
    make_user("dana").disabled = True
    db.session.commit()
    assert _invoke(app, "users", "enable", "dana").exit_code == 0
    assert not user_named("dana").disabled and len(audit_events("person_enabled")) == 1
    sign_in(client, "dana")


def test_users_delete(app, make_user):
    make_user("dana")
    assert _invoke(app, "users", "delete", "dana", input="n\n").exit_code != 0  # asks first
    assert user_named("dana") is not None
    result = _invoke(app, "users", "delete", "dana", "--yes")
    assert result.exit_code == 0, result.output
    assert user_named("dana") is None and audit_events("person_removed")[0].details["username"] == "dana"


def test_users_set_password_forces_a_change(app, client, make_user):
    old_hash = make_user("dana").password_hash
    result = _invoke(app, "users", "set-password", "dana", "--password-stdin", input=NEW_PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    dana = user_named("dana")
    assert dana.password_change_required and dana.password_hash != old_hash and NEW_PASSWORD not in result.output
    assert audit_events("password_set_by_admin")[0].details == {"via": "cli", "username": "dana"}
    assert post(client, "/login", username="dana", password=TEST_PASSWORD).status_code == 401
    assert sign_in(client, "dana", NEW_PASSWORD).location == "/login/new-password"
    weak = _invoke(app, "users", "set-password", "dana", "--password-stdin", input="short\n")
    assert weak.exit_code != 0 and "Password" in weak.output


def test_users_reset_2fa_needs_a_reason_and_removes_the_factors(app, client, make_user):
    dana = make_user("dana")
    give_totp(dana)
    db.session.add(RecoveryCode(user_id=dana.id, lookup="ab", code_hash="x"))
    db.session.commit()
    assert _invoke(app, "users", "reset-2fa", "dana").exit_code != 0  # --reason is required
    assert _invoke(app, "users", "reset-2fa", "dana", "--reason", " ").exit_code != 0
    result = _invoke(app, "users", "reset-2fa", "dana", "--reason", "ticket 4711, identity checked by phone")
    assert result.exit_code == 0, result.output
    count = sa.select(sa.func.count()).select_from(TotpCredential).where(TotpCredential.user_id == dana.id)
    assert db.session.scalar(count) == 0 and user_named("dana").default_method is None
    event, = audit_events("two_factor_reset")
    assert event.details["reason"] == "ticket 4711, identity checked by phone" and event.details["methods"] == ["totp"]
    assert sign_in(new_browser(client), "dana").location == "/"


def test_users_list_shows_methods_and_last_login(app, client, make_user):
    give_totp(make_user("dana"))
    make_user("bob", account="Globex Hosting")
    user_named("bob").last_login_at = clock.now()
    db.session.commit()
    rows = json.loads(_invoke(app, "users", "list", "--json").output)
    assert {r["username"]: r["methods"] for r in rows} == {"dana": ["totp"], "bob": []}
    assert [r["last_login_at"] is not None for r in rows] == [False, True]  # by account: Acme, then Globex
    only = json.loads(_invoke(app, "users", "list", "--account", "Globex Hosting", "--json").output)
    assert [r["username"] for r in only] == ["bob"]
    table = _invoke(app, "users", "list").output.splitlines()
    assert "methods" in table[0] and "last_login_at" in table[0] and "totp" in table[1]
    assert _invoke(app, "users", "list", "--account", "Nope").exit_code != 0
