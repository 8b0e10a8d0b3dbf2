"""Single use under concurrency: parallel redemptions of one code or one refresh token have exactly one winner.

Each thread is its own client: its own test client and app context (so its own database session and connection),
released together by a barrier. Runs on SQLite (BEGIN IMMEDIATE) and PostgreSQL (READ COMMITTED).
"""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from helpers import TEST_PASSWORD, AuthorizationRequest
from idp.extensions import db
from idp.models import Token

JOIN_TIMEOUT = 60


def race(app, n: int, form: dict, headers: dict) -> list[tuple[int, dict]]:
    """POST ``form`` to /token from ``n`` threads at once; return (status, JSON body) for each."""
    barrier = threading.Barrier(n)
    results: list[tuple[int, dict] | BaseException] = [None] * n  # type: ignore[list-item]

    def worker(i: int) -> None:
        try:
            with app.app_context():
                http = app.test_client()
                barrier.wait(timeout=JOIN_TIMEOUT)
                response = http.post("/token", data=form, headers=headers)
                results[i] = (response.status_code, response.get_json(silent=True) or {})
        except BaseException as exc:  # reported by the main thread
            results[i] = exc

    # The main thread must not hold a transaction (on SQLite it would hold the write lock).
    db.session.commit()
    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(JOIN_TIMEOUT)
    assert not any(thread.is_alive() for thread in threads), "a redemption did not finish"
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return results  # type: ignore[return-value]


@pytest.fixture
def code_request(browser, authz, user) -> tuple[dict, dict]:
    code = browser.code(authz, "dana", TEST_PASSWORD)
    return authz.token_form(code), authz.basic_auth()


@pytest.fixture
def refresh_request(client, browser, rp, user) -> tuple[dict, dict]:
    authz = AuthorizationRequest(rp, scope="openid offline_access")
    code = browser.code(authz, "dana", TEST_PASSWORD)
    tokens = client.post("/token", data=authz.token_form(code), headers=authz.basic_auth()).json
    return {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}, authz.basic_auth()


def statuses(results) -> list[int]:
    return sorted(status for status, _ in results)


@pytest.mark.parametrize("n", [2, 8])
def test_concurrent_redemptions_of_one_code_have_exactly_one_success(app, code_request, n):
    results = race(app, n, *code_request)
    assert statuses(results).count(200) == 1, results


@pytest.mark.parametrize("n", [2, 8])
def test_concurrent_redemptions_of_one_code_fail_with_invalid_grant_and_no_server_error(app, code_request, n):
    results = race(app, n, *code_request)
    losers = [body for status, body in results if status != 200]
    assert len(losers) == n - 1, results
    assert all(body.get("error") == "invalid_grant" for body in losers), results


@pytest.mark.parametrize("n", [2, 8])
def test_concurrent_refreshes_of_one_refresh_token_have_exactly_one_success(app, refresh_request, n):
    results = race(app, n, *refresh_request)
    assert statuses(results).count(200) == 1, results


@pytest.mark.parametrize("n", [2, 8])
def test_concurrent_refreshes_of_one_refresh_token_fail_with_invalid_grant_and_no_server_error(app, refresh_request,
                                                                                               n):
    results = race(app, n, *refresh_request)
    losers = [body for status, body in results if status != 200]
    assert len(losers) == n - 1, results
    assert all(body.get("error") == "invalid_grant" for body in losers), results


def test_concurrent_redemptions_of_one_code_issue_a_single_token_row(app, code_request):
    race(app, 8, *code_request)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Token)) == 1
