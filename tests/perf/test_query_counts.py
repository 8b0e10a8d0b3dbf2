"""How many SQL statements each hot request sends, pinned: an N+1 query or a lost eager load fails here first.

Each request is counted on a fresh database session, as in production (one session per request). Transaction
control (BEGIN/COMMIT) is not counted. The numbers are the same on SQLite and PostgreSQL. A change that needs more
queries must raise the number here, on purpose, in the same commit; one that saves queries should lower it.
"""

from __future__ import annotations

import base64

import pyotp
import pytest

from helpers import TEST_PASSWORD, csrf_token, query
from idp import clock
from idp.extensions import db
from idp.models import TotpCredential
from idp.security import throttle
from idp.security.throttle_store import DatabaseStore
from idp.security.crypto import encrypt

#: request → statements (the login with a second factor, then the token endpoint and userinfo)
PINNED = {
    "authorize": 3,
    "login page": 1,
    "password": 9,
    "second-factor page": 2,
    "second factor (TOTP)": 14,
    "resume (code issued)": 6,
    "token (authorization code)": 4,
    "userinfo": 1,
    "token (refresh, rotating)": 4,
    "token (client credentials)": 2,
}


def counted(queries, send):
    db.session.remove()  # as in production: nothing loaded by an earlier request
    with queries.counting():
        response = send()
    return response, [s for s in queries.statements if not s.startswith(("BEGIN", "COMMIT", "ROLLBACK"))]


def describe(statements) -> str:
    return "\n".join(" ".join(s.split())[:150] for s in statements)


@pytest.fixture
def totp_user(make_user):
    user = make_user("tess")
    key = pyotp.random_base32(32)
    db.session.add(TotpCredential(user_id=user.id, secret_encrypted=encrypt(key), confirmed_at=clock.now()))
    user.default_method = "totp"
    # a returning user from a known address: their throttle rows exist (a first login ever makes them)
    for throttle_key in (throttle.password_key("tess"), throttle.ip_key("127.0.0.1"),
                         throttle.second_factor_key(user.id), throttle.ip_key("127.0.0.1", "second_factor")):
        DatabaseStore._ensure_row(throttle_key)
    db.session.commit()
    return key


@pytest.fixture
def machine(make_client):
    return make_client(grant_types=["authorization_code", "client_credentials"])


@pytest.fixture
def counts(client, authz, totp_user, machine, queries) -> dict[str, list[str]]:
    """Walk the whole MFA login and the token requests once; statements per request."""
    seen = {}
    # what the steps need from the fixtures' rows, read before the first request drops the session
    authorize_url = authz.url(scope="openid profile email offline_access")
    redirect_uri, rp_auth = authz.redirect_uri, authz.basic_auth()
    machine_auth = "Basic " + base64.b64encode(f"{machine.client_id}:{machine.secret}".encode()).decode()

    def step(name, send, status):
        response, statements = counted(queries, send)
        assert response.status_code == status, (name, response.status_code, response.get_data(as_text=True)[:300])
        seen[name] = statements
        return response

    r = step("authorize", lambda: client.get(authorize_url), 303)
    login_url = r.location
    page = step("login page", lambda: client.get(login_url), 200)
    form = {"csrf_token": csrf_token(page.get_data(as_text=True)), "uid": query(login_url)["uid"],
            "username": "tess", "password": TEST_PASSWORD}
    r = step("password", lambda: client.post("/login", data=form), 303)
    second = r.location
    page = step("second-factor page", lambda: client.get(second), 200)
    form = {"csrf_token": csrf_token(page.get_data(as_text=True)), "method": "totp",
            "code": pyotp.TOTP(totp_user).now()}
    r = step("second factor (TOTP)", lambda: client.post("/login/second-factor", data=form), 303)
    resume = r.location
    r = step("resume (code issued)", lambda: client.get(resume), 302)
    code = query(r.location)["code"]
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
            "code_verifier": authz.verifier}
    r = step("token (authorization code)", lambda: client.post("/token", data=form, headers=rp_auth), 200)
    tokens = r.json
    step("userinfo", lambda: client.get("/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}),
         200)
    step("token (refresh, rotating)",
         lambda: client.post("/token", data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
                             headers=rp_auth), 200)
    step("token (client credentials)",
         lambda: client.post("/token", data={"grant_type": "client_credentials"},
                             headers={"Authorization": machine_auth}), 200)
    return seen


@pytest.mark.parametrize("name", list(PINNED))
def test_query_count_of_each_step_is_pinned(counts, name):
    statements = counts[name]
    assert len(statements) <= PINNED[name], f"{name}: {len(statements)} > {PINNED[name]}:\n{describe(statements)}"
    assert len(statements) == PINNED[name], f"{name}: fewer queries now ({len(statements)}); lower the pin"


def test_hot_lookups_use_an_index(counts, app):
    """The columns the hot requests look rows up by are indexed (unique or not)."""
    indexed = set()
    for table in db.metadata.tables.values():
        for index in table.indexes:
            indexed.add((table.name, index.columns.keys()[0]))
        for constraint in table.constraints:
            if hasattr(constraint, "columns") and constraint.columns.keys():
                indexed.add((table.name, constraint.columns.keys()[0]))
    lookups = [("token", "access_token_hash"), ("token", "refresh_token_hash"), ("token", "sid"),
               ("token", "grant_id"), ("authorization_code", "code_hash"), ("authorization_code", "client_id"),
               ("client", "client_id"), ("user", "username"), ("interaction", "uid"), ("login_flow", "token_hash"),
               ("login_session", "token_hash"), ("totp_credential", "user_id"), ("sms_phone", "user_id"),
               ("recovery_code", "user_id"), ("throttle_counter", "key")]
    missing = [pair for pair in lookups if pair not in indexed]
    assert missing == []
