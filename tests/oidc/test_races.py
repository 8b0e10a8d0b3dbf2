"""Single use under concurrency: parallel redemptions of one code or one refresh token have exactly one winner.

Each thread is its own client: its own test client and app context (so its own database session and connection),
released together by a barrier. Runs on SQLite (BEGIN IMMEDIATE) and PostgreSQL (READ COMMITTED).
"""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from helpers import TEST_PASSWORD, AuthorizationRequest, race
from idp.extensions import db
from idp.models import Token

def race_token_requests(app, n: int, form: dict, headers: dict) -> list[tuple[int, dict]]:
    """POST ``form`` to /token from ``n`` browsers at once; (status, JSON body) for each."""
    results = race(app, [app.test_client() for _ in range(n)], lambda http: http.post("/token", data=form,
                                                                                        headers=headers))
    return [(status, json.loads(body or "{}")) for status, body in results]


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
    results = race_token_requests(app, n, *code_request)
    assert statuses(results).count(200) == 1, results


@pytest.mark.parametrize("n", [2, 8])
def test_concurrent_redemptions_of_one_code_fail_with_invalid_grant_and_no_server_error(app, code_request, n):
    results = race_token_requests(app, n, *code_request)
    losers = [body for status, body in results if status != 200]
    assert len(losers) == n - 1, results
    assert all(body.get("error") == "invalid_grant" for body in losers), results


@pytest.mark.parametrize("n", [2, 8])
def test_concurrent_refreshes_of_one_refresh_token_have_exactly_one_success(app, refresh_request, n):
    results = race_token_requests(app, n, *refresh_request)
    assert statuses(results).count(200) == 1, results


@pytest.mark.parametrize("n", [2, 8])
def test_concurrent_refreshes_of_one_refresh_token_fail_with_invalid_grant_and_no_server_error(app, refresh_request,
                                                                                               n):
    results = race_token_requests(app, n, *refresh_request)
    losers = [body for status, body in results if status != 200]
    assert len(losers) == n - 1, results
    assert all(body.get("error") == "invalid_grant" for body in losers), results


def test_concurrent_redemptions_of_one_code_issue_a_single_token_row(app, code_request):
    race_token_requests(app, 8, *code_request)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Token)) == 1
