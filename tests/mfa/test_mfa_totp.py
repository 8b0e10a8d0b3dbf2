"""The authenticator app (TOTP): enrolment through the pages, the login step, single use, drift, storage, amr/acr."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet

from helpers import csrf_token
from idp.extensions import db
from mfa_helpers import (ACR_MFA, TEST_PASSWORD, WRONG_CODE_MESSAGE, AuthorizationCode, TotpCredential,
                         authorize_to_password, clock, count, error_of, finish_authorization, give_totp,
                         id_token_claims, logout, password_login, post, query, recovery_codes_in, submit_code,
                         to_second_factor, totp_code, totp_key_in, wrong_totp_code)

__all__ = ["clock"]


@pytest.fixture
def signed_in(client, user, clock):
    """dana, without a second factor yet, signed in with her password in ``client``."""
    response = password_login(client)
    assert response.status_code == 303 and "second-factor" not in response.location
    return client


def _start_enrolment(client) -> str:
    response = post(client, "/account/totp/enrol", password=TEST_PASSWORD)
    assert response.status_code == 303, error_of(response)
    return client.get(response.location).get_data(as_text=True)


def _confirm(client, page: str, code: str):
    return client.post("/account/totp/confirm", data={"csrf_token": csrf_token(page), "code": code})


# --- enrolment -----------------------------------------------------------------------------------------------

def test_enrolment_with_a_wrong_password_shows_an_error_and_creates_nothing(signed_in):
    response = post(signed_in, "/account/totp/enrol", password="not the password")
    assert response.status_code in (400, 401)
    assert error_of(response) == "Incorrect password."
    assert count(TotpCredential) == 0
    assert "/account/totp/enrol" in signed_in.get("/account/totp/confirm").location  # nothing pending to confirm


def test_a_wrong_code_at_enrolment_shows_an_error_and_a_retry_with_the_right_code_works(signed_in):
    page = _start_enrolment(signed_in)
    key = totp_key_in(page).replace(" ", "")
    response = _confirm(signed_in, page, wrong_totp_code(key))
    assert response.status_code == 400
    assert "not right" in error_of(response)
    assert count(TotpCredential, TotpCredential.confirmed_at.is_not(None)) == 0
    response = _confirm(signed_in, page, totp_code(key))
    assert response.status_code == 303 and response.location.endswith("/account/recovery/codes")
    assert count(TotpCredential, TotpCredential.confirmed_at.is_not(None)) == 1


def test_a_pending_key_does_nothing_for_login_until_it_is_confirmed(app, signed_in, clock):
    page = _start_enrolment(signed_in)
    other = app.test_client()
    response = password_login(other)
    assert response.status_code == 303 and "second-factor" not in response.location  # no second step yet
    clock.advance(30)
    assert _confirm(signed_in, page, totp_code(totp_key_in(page).replace(" ", ""))).status_code == 303
    to_second_factor(app.test_client())  # now it asks


def test_a_pending_enrolment_is_still_open_after_14_minutes(signed_in, clock):
    page = _start_enrolment(signed_in)
    clock.advance(14 * 60)
    again = signed_in.get("/account/totp/confirm")
    assert again.status_code == 200 and totp_key_in(again.get_data(as_text=True)) == totp_key_in(page)


def test_a_pending_enrolment_expires_after_15_minutes(signed_in, clock):
    page = _start_enrolment(signed_in)
    key = totp_key_in(page).replace(" ", "")
    clock.advance(15 * 60 + 1)
    assert "/account/totp/enrol" in signed_in.get("/account/totp/confirm").location
    response = _confirm(signed_in, page, totp_code(key))
    assert response.status_code == 303 and "/account/totp/enrol" in response.location
    assert count(TotpCredential, TotpCredential.confirmed_at.is_not(None)) == 0


def test_the_key_is_shown_in_base32_groups_of_four_next_to_an_inline_svg_qr_code(signed_in):
    page = _start_enrolment(signed_in)
    shown = totp_key_in(page)
    assert re.fullmatch(r"[A-Z2-7]{4}( [A-Z2-7]{4})*( [A-Z2-7]{1,3})?", shown), shown
    assert len(shown.replace(" ", "")) >= 32  # 160 bits (RFC 4226 section 4)
    assert "<svg" in page
    # the key as shown (spaces and all, as a person types it) is the one the server checks
    assert _confirm(signed_in, page, totp_code(shown.replace(" ", ""))).status_code == 303


def test_the_totp_secret_column_holds_ciphertext_of_the_key_not_the_key(app, signed_in):
    page = _start_enrolment(signed_in)
    key = totp_key_in(page).replace(" ", "")
    stored = db.session.execute(sa.text("SELECT secret_encrypted FROM totp_credential")).scalar_one()
    assert key not in stored and key.lower() not in stored
    fernet = Fernet(app.config["IDP_SETTINGS"].mfa.encryption_key)
    assert fernet.decrypt(stored.encode()).decode() == key


def test_the_code_that_confirmed_enrolment_does_not_also_log_in(app, signed_in):
    page = _start_enrolment(signed_in)
    code = totp_code(totp_key_in(page).replace(" ", ""))
    assert _confirm(signed_in, page, code).status_code == 303
    other = app.test_client()
    to_second_factor(other)
    response = submit_code(other, code)
    assert response.status_code == 401 and error_of(response) == WRONG_CODE_MESSAGE


def test_the_recovery_codes_are_shown_after_the_app_is_confirmed(signed_in):
    page = _start_enrolment(signed_in)
    response = _confirm(signed_in, page, totp_code(totp_key_in(page).replace(" ", "")))
    assert len(recovery_codes_in(signed_in.get(response.location).get_data(as_text=True))) == 10


# --- login ---------------------------------------------------------------------------------------------------

def test_login_asks_for_the_code_after_the_password_and_issues_no_code_before_it(client, authz, user, clock):
    key = give_totp(user)
    response = authorize_to_password(client, authz)
    assert response.status_code == 303 and "/login/second-factor" in response.location
    uid = query(response.location)["uid"]
    page = client.get(response.location)
    assert page.status_code == 200 and "six-digit code" in page.get_data(as_text=True).lower()
    early = client.get(f"/authorize/resume/{uid}")  # skipping the second step: back to a login page
    assert early.status_code == 303 and early.location.startswith("/login"), early.location
    assert count(AuthorizationCode) == 0
    final = finish_authorization(client, submit_code(client, totp_code(key)))
    assert final.status_code == 302 and "code" in query(final.location)


def test_a_wrong_code_is_refused_with_one_message(client, user, clock):
    key = give_totp(user)
    to_second_factor(client)
    for code in (wrong_totp_code(key), "abcdef", "12345", ""):
        response = submit_code(client, code)
        assert response.status_code == 401, code
        assert error_of(response) == WRONG_CODE_MESSAGE, code
    assert client.get("/account/security").status_code == 303  # still not signed in


def test_a_used_code_is_refused_after_logout_and_a_new_login_within_30_seconds(app, client, user, clock):
    key = give_totp(user)
    code = totp_code(key)
    to_second_factor(client)
    assert submit_code(client, code).status_code == 303
    logout(client)
    clock.advance(10)  # same time step
    to_second_factor(client)
    replay = submit_code(client, code)
    assert replay.status_code == 401 and error_of(replay) == WRONG_CODE_MESSAGE
    elsewhere = app.test_client()
    to_second_factor(elsewhere)
    assert submit_code(elsewhere, code).status_code == 401


def test_a_code_of_an_older_step_than_the_last_used_one_is_refused(client, user, clock):
    key = give_totp(user)
    newer, older = totp_code(key, +30), totp_code(key)
    to_second_factor(client)
    assert submit_code(client, newer).status_code == 303
    logout(client)
    to_second_factor(client)
    response = submit_code(client, older)  # within the drift window, never used, but older than the last one
    assert response.status_code == 401 and error_of(response) == WRONG_CODE_MESSAGE


def test_the_next_steps_code_works_after_a_login(client, user, clock):
    key = give_totp(user)
    to_second_factor(client)
    assert submit_code(client, totp_code(key)).status_code == 303
    logout(client)
    clock.advance(30)
    to_second_factor(client)
    assert submit_code(client, totp_code(key)).status_code == 303


@pytest.mark.parametrize("offset", [-30, +30])
def test_a_code_one_step_off_either_way_is_accepted(client, user, clock, offset):
    key = give_totp(user)
    to_second_factor(client)
    assert submit_code(client, totp_code(key, offset)).status_code == 303


@pytest.mark.parametrize("offset", [-60, +60])
def test_a_code_two_steps_off_either_way_is_refused(client, user, clock, offset):
    key = give_totp(user)
    to_second_factor(client)
    response = submit_code(client, totp_code(key, offset))
    assert response.status_code == 401 and error_of(response) == WRONG_CODE_MESSAGE


def test_the_id_token_says_amr_pwd_otp_mfa_and_acr_mfa(client, authz, user, clock):
    key = give_totp(user)
    authorize_to_password(client, authz)
    final = finish_authorization(client, submit_code(client, totp_code(key)))
    assert final.status_code == 302
    claims = id_token_claims(client, authz, query(final.location)["code"])
    assert claims["amr"] == ["pwd", "otp", "mfa"]
    assert claims["acr"] == ACR_MFA
