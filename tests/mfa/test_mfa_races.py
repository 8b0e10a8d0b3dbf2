"""Single use under concurrency: the same TOTP code, SMS code or recovery code sent in parallel has one winner.

Each thread is its own browser connection: its own test client and app context (own database session), all at the
second-factor step before the barrier releases them together. Runs on SQLite (BEGIN IMMEDIATE) and PostgreSQL.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from idp.extensions import db
from mfa_helpers import (LoginSession, RecoveryCode, clock, clone_browser, count, csrf, give_recovery, give_sms,
                         give_totp, last_sms_code, race, second_factor_page, to_second_factor, totp_code)

__all__ = ["clock"]

SIZES = [2, 8]


def _browsers_at_second_factor(app, n: int) -> list:
    """``n`` browsers of the same user, each signed in with the password (one after another)."""
    browsers = []
    for _ in range(n):
        browser = app.test_client()
        to_second_factor(browser)
        browsers.append(browser)
    return browsers


def _post_code(method: str, code: str, tokens: dict):
    def send(browser):
        return browser.post("/login/second-factor",
                            data={"csrf_token": tokens[id(browser)], "method": method, "code": code})
    return send


def _successes(results) -> int:
    return sum(1 for status, body in results if status == 303 or (status == 200 and "You are signed in" in body))


def _mfa_sessions() -> int:
    db.session.expire_all()
    return sum(1 for s in db.session.scalars(sa.select(LoginSession)) if "mfa" in s.amr)


def _assert_one_winner(results):
    assert all(status < 500 for status, _ in results), [status for status, _ in results]
    assert _successes(results) == 1, [status for status, _ in results]
    assert _mfa_sessions() == 1


@pytest.mark.parametrize("n", SIZES)
def test_parallel_submissions_of_one_totp_code_have_exactly_one_success(app, user, clock, n):
    key = give_totp(user)
    browsers = _browsers_at_second_factor(app, n)
    tokens = {id(b): csrf(b) for b in browsers}
    results = race(app, browsers, _post_code("totp", totp_code(key), tokens))
    _assert_one_winner(results)


@pytest.mark.parametrize("n", SIZES)
def test_parallel_submissions_of_one_sms_code_have_exactly_one_success(app, user, clock, n):
    give_sms(user)
    first = app.test_client()
    to_second_factor(first)
    assert second_factor_page(first).status_code == 200  # texts the code for this sign-in
    code = last_sms_code()
    browsers = [first] + [clone_browser(app, first) for _ in range(n - 1)]  # the same sign-in, n connections
    tokens = {id(b): csrf(b) for b in browsers}
    results = race(app, browsers, _post_code("sms", code, tokens))
    _assert_one_winner(results)


@pytest.mark.parametrize("n", SIZES)
def test_parallel_submissions_of_one_recovery_code_have_exactly_one_success(app, user, clock, n):
    give_totp(user)
    codes = give_recovery(user)
    browsers = _browsers_at_second_factor(app, n)
    tokens = {id(b): csrf(b) for b in browsers}
    results = race(app, browsers, _post_code("recovery", codes[0], tokens))
    _assert_one_winner(results)
    assert count(RecoveryCode, RecoveryCode.used_at.is_not(None)) == 1
