"""Adding, listing, renaming and removing security keys on the settings page, with the rules of every method."""

from __future__ import annotations

import pyotp
import pytest

from idp.auth.methods import webauthn
from idp.extensions import db
from idp.models import RecoveryCode, TotpCredential
from idp.security.crypto import encrypt
from webauthn_helpers import (TEST_PASSWORD, SoftAuthenticator, add_key, audit_events, emails, error_of, key_options,
                              keys_of, password_login, post)


@pytest.fixture
def signed_in(client, user):
    assert password_login(client).status_code == 303
    return client


def test_the_settings_page_offers_security_keys_first(signed_in):
    page = signed_in.get("/account/security").get_data(as_text=True)
    assert page.index('id="method-webauthn"') < page.index('id="method-totp"') < page.index('id="method-sms"')
    assert "Security key or passkey" in page and 'href="/account/webauthn/enrol"' in page


def test_the_enrol_page_asks_for_password_and_name_and_says_when_javascript_is_off(signed_in):
    page = signed_in.get("/account/webauthn/enrol").get_data(as_text=True)
    assert 'name="password"' in page and 'name="name"' in page and 'data-webauthn="create"' in page
    assert "<noscript>" in page and "need JavaScript" in page and "data-webauthn-unsupported" in page
    assert '<script src="/static/webauthn.js"></script>' in page and "<script>" not in page


def test_adding_the_first_key_shows_recovery_codes_makes_it_the_default_and_is_audited_and_emailed(signed_in, user):
    response = add_key(signed_in, SoftAuthenticator(), "YubiKey 5")
    assert response.status_code == 303 and response.location.endswith("/account/recovery/codes")
    assert signed_in.get(response.location).get_data(as_text=True).count("<li>") == 10
    db.session.refresh(user)
    assert user.default_method == "webauthn"
    assert [e.details["method"] for e in audit_events("second_factor_enabled", user)] == ["webauthn"]
    assert audit_events("webauthn_key_added", user)[0].details["key_name"] == "YubiKey 5"
    assert any("Security key or passkey turned on" == m.subject and "YubiKey 5" in m.body for m in emails(user))


def test_the_session_that_added_the_key_counts_as_having_used_it(signed_in, user):
    add_key(signed_in, SoftAuthenticator())
    page = signed_in.get("/account/security").get_data(as_text=True)
    assert "hwk" in page and "mfa" in page


def test_several_keys_are_listed_with_name_creation_date_and_last_use(signed_in, user):
    add_key(signed_in, SoftAuthenticator(), "YubiKey 5")
    second = add_key(signed_in, SoftAuthenticator(), "Laptop")
    assert second.location.endswith("/account/security?enabled=webauthn")  # recovery codes only the first time
    page = signed_in.get("/account/security").get_data(as_text=True)
    assert page.count('class="key-name"') == 2 and "YubiKey 5" in page and "Laptop" in page
    assert "Added " in page and "never used" in page


def test_a_wrong_password_stops_the_enrolment_before_the_prompt(signed_in, user):
    response = key_options(signed_in, password="wrong password")
    assert response.status_code == 400 and response.get_json() == {"error": "Incorrect password."}
    assert audit_events("password_confirm_failed", user)


@pytest.mark.parametrize("name", ["", "   ", "x" * 65])
def test_a_key_needs_a_name(signed_in, name):
    response = key_options(signed_in, name=name)
    assert response.status_code == 400 and "name" in response.get_json()["error"]


def test_the_names_spaces_are_tidied(signed_in, user):
    add_key(signed_in, SoftAuthenticator(), "  My   laptop ")
    assert keys_of(user)[0].name == "My laptop"


def test_enrolment_without_javascript_says_what_is_missing(signed_in):
    response = post(signed_in, "/account/webauthn/enrol", password=TEST_PASSWORD, name="Key")
    assert response.status_code == 400 and "need JavaScript" in error_of(response)


def test_an_answer_from_another_origin_is_refused(signed_in, user):
    response = add_key(signed_in, SoftAuthenticator(origin="http://evil.example"))
    assert response.status_code == 400 and "could not be added" in error_of(response)
    assert keys_of(user) == [] and audit_events("webauthn_enrol_failed", user)


def test_the_options_are_bound_to_this_session(app, signed_in, user):
    options = key_options(signed_in).get_json()
    other = app.test_client()
    assert password_login(other).status_code == 303
    response = post(other, "/account/webauthn/enrol", credential=SoftAuthenticator().create(options))
    assert response.status_code == 400 and keys_of(user) == []


def test_a_user_with_another_factor_must_have_used_it_to_add_a_key(client, user):
    db.session.add(TotpCredential(user_id=user.id, secret_encrypted=encrypt(pyotp.random_base32()),
                                  confirmed_at=user.created_at))
    db.session.commit()
    assert password_login(client).status_code == 303  # the second-factor step, not finished
    assert client.get("/account/security").status_code == 303  # not signed in yet


def test_enrolment_needs_a_session(client):
    assert client.get("/account/webauthn/enrol").status_code == 303
    assert post(client, "/account/webauthn/options", password=TEST_PASSWORD, name="x").status_code == 303


def test_a_key_can_be_renamed(signed_in, user):
    add_key(signed_in, SoftAuthenticator(), "Old name")
    key = keys_of(user)[0]
    assert post(signed_in, f"/account/webauthn/{key.id}/rename", name="New name").status_code == 303
    assert keys_of(user)[0].name == "New name"
    assert audit_events("webauthn_key_renamed", user)[0].details["old_name"] == "Old name"


def test_another_users_key_cannot_be_renamed_or_removed(signed_in, make_user, app):
    other = make_user("eve")
    browser = app.test_client()
    assert password_login(browser, "eve").status_code == 303
    add_key(browser, SoftAuthenticator())
    key = keys_of(other)[0]
    assert post(signed_in, f"/account/webauthn/{key.id}/rename", name="Mine").status_code == 400
    assert post(signed_in, f"/account/webauthn/{key.id}/remove", password=TEST_PASSWORD).status_code == 400
    assert keys_of(other)[0].name == "YubiKey 5"


def test_removing_a_key_asks_for_the_password(signed_in, user):
    add_key(signed_in, SoftAuthenticator(), "A")
    add_key(signed_in, SoftAuthenticator(), "B")
    first = keys_of(user)[0]
    refused = post(signed_in, f"/account/webauthn/{first.id}/remove", password="wrong password")
    assert refused.status_code == 400 and error_of(refused) == "Incorrect password."
    assert len(keys_of(user)) == 2
    assert post(signed_in, f"/account/webauthn/{first.id}/remove", password=TEST_PASSWORD).status_code == 303
    assert [k.name for k in keys_of(user)] == ["B"]
    assert audit_events("webauthn_key_removed", user)[0].details["key_name"] == "A"
    db.session.refresh(user)
    assert user.default_method == "webauthn"


def test_removing_the_last_key_turns_two_factor_off_and_voids_the_recovery_codes(signed_in, user):
    add_key(signed_in, SoftAuthenticator())
    key = keys_of(user)[0]
    assert post(signed_in, f"/account/webauthn/{key.id}/remove", password=TEST_PASSWORD).status_code == 303
    db.session.refresh(user)
    assert keys_of(user) == [] and user.default_method is None
    assert db.session.query(RecoveryCode).filter_by(user_id=user.id).count() == 0
    assert audit_events("second_factor_disabled", user)[0].details == {"method": "webauthn", "two_factor_on": False}
    page = signed_in.get("/account/security").get_data(as_text=True)
    assert 'Two-factor authentication is <strong class="">off' in page


def test_removing_the_last_key_leaves_the_app_as_default(signed_in, user):
    add_key(signed_in, SoftAuthenticator())
    db.session.add(TotpCredential(user_id=user.id, secret_encrypted=encrypt(pyotp.random_base32()),
                                  confirmed_at=user.created_at))
    db.session.commit()
    key = keys_of(user)[0]
    post(signed_in, f"/account/webauthn/{key.id}/remove", password=TEST_PASSWORD)
    db.session.refresh(user)
    assert user.default_method == "totp"


@pytest.mark.settings(issuer="http://127.0.0.1:9000")
def test_with_an_ip_address_issuer_the_page_says_keys_are_not_available(signed_in):
    page = signed_in.get("/account/security").get_data(as_text=True)
    assert "Not available: idp must be served under a domain name." in page
    assert key_options(signed_in).status_code == 400


def test_the_options_endpoint_speaks_json_even_for_a_csrf_failure(signed_in):
    response = signed_in.post("/account/webauthn/options", data={"password": TEST_PASSWORD, "name": "x"})
    assert response.status_code == 400 and response.is_json


def test_a_challenge_cannot_be_used_for_a_second_key(signed_in, user):
    options = key_options(signed_in).get_json()
    assert post(signed_in, "/account/webauthn/enrol", credential=SoftAuthenticator().create(options)).status_code == 303
    again = post(signed_in, "/account/webauthn/enrol", credential=SoftAuthenticator().create(options))
    assert again.status_code == 400 and len(keys_of(user)) == 1
    assert webauthn.available()
