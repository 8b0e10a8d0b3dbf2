"""Recovery codes: shown once, formatted for reading, stored hashed, single use, counted, regenerated, voided."""

from __future__ import annotations

import base64
import re
from urllib.parse import unquote

import pytest
import sqlalchemy as sa

from idp.extensions import db
from mfa_helpers import (RECOVERY_CODE_RE, TEST_PASSWORD, WRONG_CODE_MESSAGE, RecoveryCode, clock, audit_events, count,
                         emails, enrol_totp, error_of, give_recovery, give_totp, logout, password_login, post,
                         second_factor_page, submit_code, to_second_factor, totp_code)

__all__ = ["clock"]


@pytest.fixture
def factors(user, clock):
    """dana with an authenticator app and a set of recovery codes; returns (key, codes)."""
    return give_totp(user), give_recovery(user)


def _sign_in_with_app(client, key, clock) -> None:
    clock.advance(30)  # a step not used before
    to_second_factor(client)
    assert submit_code(client, totp_code(key)).status_code == 303


def _use_recovery(client, code: str):
    to_second_factor(client)
    assert second_factor_page(client, "recovery").status_code == 200
    return submit_code(client, code, "recovery")


def test_ten_codes_formatted_for_reading_are_shown_once_after_enrolment(client, user, clock):
    assert password_login(client).status_code == 303
    response = post(client, "/account/totp/enrol", password=TEST_PASSWORD)
    page = client.get(response.location).get_data(as_text=True)
    key = re.search(r'id="totp-key">([^<]*)<', page).group(1).replace(" ", "")
    response = post(client, "/account/totp/confirm", code=totp_code(key))
    assert response.status_code == 303
    shown = client.get(response.location)
    html = shown.get_data(as_text=True)
    codes = re.findall(r"<li>([^<]+)</li>", html)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert all(RECOVERY_CODE_RE.fullmatch(code) for code in codes), codes
    download = re.search(r'href="data:text/plain;charset=utf-8;base64,([^"]+)" download="[^"]+\.txt"', html)
    assert download, "no .txt download"
    text = base64.b64decode(unquote(download.group(1))).decode()
    assert all(code in text for code in codes)
    assert "print" in html.lower()
    again = client.get("/account/recovery/codes")
    assert not any(code in again.get_data(as_text=True) for code in codes)
    assert again.status_code in (302, 303)


def test_recovery_codes_are_stored_hashed(client, user, clock):
    assert password_login(client).status_code == 303
    _, codes = enrol_totp(client)
    rows = db.session.execute(sa.text("SELECT * FROM recovery_code")).mappings().all()
    assert len(rows) == 10
    stored = " ".join(str(value) for row in rows for value in row.values())
    for code in codes:
        assert code not in stored and code.replace("-", "") not in stored
    assert all(row["code_hash"].startswith("$argon2") for row in rows)


def test_a_recovery_code_logs_in_once_and_the_same_code_fails_the_second_time(app, client, factors):
    _, codes = factors
    first = _use_recovery(client, codes[0])
    assert first.status_code == 200 and "You are signed in" in first.get_data(as_text=True)
    assert client.get("/account/security").status_code == 200
    logout(client)
    second = _use_recovery(app.test_client(), codes[0])
    assert second.status_code == 401 and error_of(second) == WRONG_CODE_MESSAGE


def test_a_recovery_code_may_be_typed_in_capitals_without_dashes(client, factors):
    _, codes = factors
    response = _use_recovery(client, codes[3].replace("-", "").upper())
    assert response.status_code == 200


def test_the_remaining_count_drops_and_is_shown(client, factors):
    _, codes = factors
    response = _use_recovery(client, codes[0])
    assert "9 left" in response.get_data(as_text=True)
    assert "9 of 10 recovery codes left" in client.get("/account/security").get_data(as_text=True)
    logout(client)
    response = _use_recovery(client, codes[1])
    assert "8 left" in response.get_data(as_text=True)
    assert count(RecoveryCode, RecoveryCode.used_at.is_(None)) == 8


def test_regenerating_needs_the_password_and_voids_the_old_set(app, client, factors, clock):
    key, old = factors
    _sign_in_with_app(client, key, clock)
    refused = post(client, "/account/recovery/regenerate", password="not the password")
    assert refused.status_code in (400, 401) and error_of(refused) == "Incorrect password."
    response = post(client, "/account/recovery/regenerate", password=TEST_PASSWORD)
    assert response.status_code == 303
    new = re.findall(r"<li>([^<]+)</li>", client.get(response.location).get_data(as_text=True))
    assert len(new) == 10 and not set(new) & set(old)
    assert _use_recovery(app.test_client(), old[0]).status_code == 401
    assert _use_recovery(app.test_client(), new[0]).status_code == 200


def test_disabling_the_last_method_voids_the_recovery_codes_and_turns_2fa_off(app, client, factors, clock):
    key, codes = factors
    _sign_in_with_app(client, key, clock)
    response = post(client, "/account/totp/disable", password=TEST_PASSWORD)
    assert response.status_code == 303
    assert count(RecoveryCode) == 0
    fresh = app.test_client()
    response = password_login(fresh)
    assert response.status_code == 303 and "second-factor" not in response.location
    assert re.search(r"Two-factor authentication is <strong[^>]*>off<", client.get("/account/security")
                     .get_data(as_text=True))


def test_using_a_recovery_code_is_audited_and_notified_by_email(client, user, factors):
    _, codes = factors
    assert _use_recovery(client, codes[0]).status_code == 200
    assert len(audit_events("recovery_code_used", user)) == 1
    notices = emails(user)
    assert len(notices) == 1 and "recovery code" in (notices[0].subject + notices[0].body).lower()
    assert codes[0] not in notices[0].body


def test_a_failed_recovery_code_is_neither_audited_as_used_nor_notified(client, user, factors):
    assert _use_recovery(client, "abcd-efgh-jkmn").status_code == 401
    assert audit_events("recovery_code_used", user) == [] and emails(user) == []


def test_regenerating_recovery_codes_is_audited_and_notified_by_email(client, user, factors, clock):
    key, _ = factors
    _sign_in_with_app(client, key, clock)
    assert post(client, "/account/recovery/regenerate", password=TEST_PASSWORD).status_code == 303
    assert len(audit_events("recovery_codes_regenerated", user)) == 1
    assert len(emails(user)) == 1 and "recovery codes" in emails(user)[0].subject.lower()
