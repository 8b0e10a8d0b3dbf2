"""Throttling of wrong passwords and wrong codes, with the default settings: one message for every failure, growing
delays, a hard limit of 100 consecutive failures, and a way back in after the cool-down."""

from __future__ import annotations

import pytest

from idp.security import throttle
from mfa_helpers import (WRONG_CODE_MESSAGE, WRONG_PASSWORD_MESSAGE, RecoveryCode, clock, count, error_of,
                         give_recovery, give_totp, password_login, second_factor_page, submit_code,
                         to_second_factor, totp_code, wrong_totp_code)

__all__ = ["clock"]


def _refused(response) -> bool:
    return response.status_code == 401 and error_of(response) == WRONG_PASSWORD_MESSAGE


def _signed_in(response) -> bool:
    return response.status_code == 303 and response.location.endswith("/")


# --- passwords -----------------------------------------------------------------------------------------------

def test_after_5_wrong_passwords_the_right_one_is_refused_with_the_same_message_until_the_delay_passes(
        client, user, clock):
    for _ in range(5):
        assert _refused(password_login(client, password="not the password"))
    assert _refused(password_login(client))  # the right password, while locked
    clock.advance(29)
    assert _refused(password_login(client))
    clock.advance(2)
    assert _signed_in(password_login(client))


def test_4_wrong_passwords_do_not_lock(client, user, clock):
    for _ in range(4):
        assert _refused(password_login(client, password="not the password"))
    assert _signed_in(password_login(client))


def test_unknown_usernames_get_the_same_status_and_message_as_wrong_passwords(client, user, clock):
    wrong = password_login(client, password="not the password")
    unknown = password_login(client, username="nobody", password="not the password")
    assert (wrong.status_code, error_of(wrong)) == (unknown.status_code, error_of(unknown)) == (
        401, WRONG_PASSWORD_MESSAGE)
    for _ in range(5):
        password_login(client, username="nobody", password="not the password")
        password_login(client, password="not the password")
    locked_unknown = password_login(client, username="nobody", password="not the password")
    locked_known = password_login(client)
    assert (locked_unknown.status_code, error_of(locked_unknown)) == (locked_known.status_code, error_of(locked_known))


def test_the_lock_grows_from_30_to_60_seconds_after_5_more_failures(client, user, clock):
    for _ in range(5):
        password_login(client, password="not the password")
    for _ in range(5):  # failures 6 to 10, each after the lock of the previous one
        clock.advance(31)
        assert _refused(password_login(client, password="not the password"))
    clock.advance(31)
    assert _refused(password_login(client))  # 30 s is no longer enough
    clock.advance(30)
    assert _signed_in(password_login(client))


def test_a_successful_login_resets_the_count_of_wrong_passwords(client, user, clock):
    for _ in range(4):
        password_login(client, password="not the password")
    assert _signed_in(password_login(client))
    for _ in range(4):
        password_login(client, password="not the password")
    assert _signed_in(password_login(client))


def test_wrong_passwords_for_many_usernames_from_one_address_slow_that_address_down(client, user, clock):
    for n in range(30):
        assert _refused(password_login(client, username=f"guess{n}", password="not the password"))
    assert _refused(password_login(client))
    clock.advance(31)
    assert _signed_in(password_login(client))


# --- second factor -------------------------------------------------------------------------------------------

def _code_refused(response) -> bool:
    return response.status_code == 401 and error_of(response) == WRONG_CODE_MESSAGE


def test_after_100_wrong_codes_the_right_code_is_refused_until_the_cool_down_passes(client, user, clock):
    key = give_totp(user)
    key_name = throttle.second_factor_key(user.id)
    flow_started = None
    for _ in range(100):
        if (until := throttle.locked_until(key_name)) is not None:
            clock.set(until)
            clock.advance(1)
        if flow_started is None or clock.ts - flow_started > 600:  # a sign-in lasts 15 minutes
            to_second_factor(client)
            flow_started = clock.ts
        assert _code_refused(submit_code(client, wrong_totp_code(key)))
    clock.advance(901)  # longer than the longest growing delay (15 minutes)
    to_second_factor(client)
    assert _code_refused(submit_code(client, totp_code(key)))
    assert _code_refused(submit_code(client, wrong_totp_code(key)))
    clock.advance(24 * 3600)  # the cool-down
    to_second_factor(client)
    assert submit_code(client, totp_code(key)).status_code == 303


def test_5_wrong_codes_lock_the_second_factor_with_the_same_message_and_it_opens_again(client, user, clock):
    key = give_totp(user)
    to_second_factor(client)
    for _ in range(5):
        assert _code_refused(submit_code(client, wrong_totp_code(key)))
    assert _code_refused(submit_code(client, totp_code(key)))
    clock.advance(31)
    assert submit_code(client, totp_code(key)).status_code == 303


def test_a_successful_code_resets_the_count_of_wrong_codes(app, client, user, clock):
    key = give_totp(user)
    to_second_factor(client)
    for _ in range(4):
        submit_code(client, wrong_totp_code(key))
    assert submit_code(client, totp_code(key)).status_code == 303
    clock.advance(30)
    other = app.test_client()
    to_second_factor(other)
    for _ in range(4):
        submit_code(other, wrong_totp_code(key))
    assert submit_code(other, totp_code(key)).status_code == 303


def test_the_recovery_code_path_is_refused_too_while_the_second_factor_is_locked(client, user, clock):
    key = give_totp(user)
    codes = give_recovery(user)
    to_second_factor(client)
    for _ in range(5):
        submit_code(client, wrong_totp_code(key))
    assert second_factor_page(client, "recovery").status_code == 200
    assert _code_refused(submit_code(client, codes[0], "recovery"))
    assert count(RecoveryCode, RecoveryCode.used_at.is_(None)) == 10  # not spent by the refused attempt
    clock.advance(31)
    assert submit_code(client, codes[0], "recovery").status_code == 200


@pytest.mark.settings(throttle={"ip_free_failures": 6})
def test_wrong_codes_for_several_users_from_one_address_slow_that_address_down(app, make_user, clock):
    users = [make_user(f"member{n}") for n in range(3)]
    keys = [give_totp(u) for u in users]
    for u, key in zip(users[:2], keys[:2]):  # 3 wrong codes each: under the per-user limit, 6 for the address
        browser = app.test_client()
        to_second_factor(browser, u.username)
        for _ in range(3):
            assert _code_refused(submit_code(browser, wrong_totp_code(key)))
    browser = app.test_client()
    to_second_factor(browser, users[2].username)
    assert _code_refused(submit_code(browser, totp_code(keys[2])))
    clock.advance(31)
    to_second_factor(browser, users[2].username)
    assert submit_code(browser, totp_code(keys[2])).status_code == 303
