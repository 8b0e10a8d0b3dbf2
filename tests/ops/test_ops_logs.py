"""Request ids and log lines: X-Request-ID honoured when sane, echoed, on every log line and audit event; JSON or
text; a whole sign-in with a second factor and a token exchange logs no password, code, secret or token."""

from __future__ import annotations

import json
import logging
import re

import pyotp
import pytest

import idp.clock
from idp.extensions import db
from idp.models import TotpCredential
from idp.ops.logs import JsonFormatter, RequestIdFilter
from idp.security.crypto import encrypt

from helpers import TEST_PASSWORD, csrf, query
from ops_helpers import last_event, password_login

GENERATED = re.compile(r"[0-9a-f]{32}")


def _json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


@pytest.mark.parametrize("given", ["abcdef12", "3f2a9c1e-7b4d-4c1a-9e2f-0a1b2c3d4e5f", "1-67891233:abc.d_e"])
def test_a_sane_request_id_is_echoed_and_stored_with_the_audit_event(client, user, given):
    response = client.post("/login", data={"csrf_token": csrf(client), "username": "dana", "password": "wrong"},
                           headers={"X-Request-ID": given})
    assert response.headers["X-Request-ID"] == given
    assert last_event("login_failed").request_id == given


@pytest.mark.parametrize("given", ["", "short", "x" * 65, "has space in it", "semi;colon1", "Root=1-6789123",
                                   "new\nline12", "quote\"quote", "ünicode-id"])
def test_an_unusable_request_id_is_replaced_by_a_new_one(client, given):
    response = client.get("/healthz", environ_overrides={"HTTP_X_REQUEST_ID": given})
    assert GENERATED.fullmatch(response.headers["X-Request-ID"])


def test_every_response_gets_a_request_id_even_a_404(client):
    first, second = client.get("/no-such-page"), client.get("/no-such-page")
    assert first.status_code == 404
    assert GENERATED.fullmatch(first.headers["X-Request-ID"])
    assert first.headers["X-Request-ID"] != second.headers["X-Request-ID"]


def test_json_log_lines_carry_the_request_id_and_the_audit_fields(client, user, capfd):
    capfd.readouterr()
    response = password_login(client, password="wrong")
    lines = _json_lines(capfd.readouterr().err)
    audit = [line for line in lines if line.get("audit_event") == "login_failed"]
    assert len(audit) == 1
    assert audit[0]["request_id"] == response.headers["X-Request-ID"]
    assert audit[0]["logger"] == "idp.audit" and audit[0]["level"] == "INFO"
    assert audit[0]["subject_id"] == user.id and audit[0]["details"]["reason"] == "wrong password"


@pytest.mark.settings(logging={"format": "text"})
def test_text_log_lines_carry_the_request_id(client, user, capfd):
    capfd.readouterr()
    response = password_login(client, password="wrong")
    err = capfd.readouterr().err
    assert f"INFO idp.audit [{response.headers['X-Request-ID']}]: login_failed" in err


def test_a_line_outside_a_request_has_a_dash_for_request_id(app):
    record = logging.makeLogRecord({"msg": "start-up", "levelname": "INFO", "name": "idp"})
    RequestIdFilter().filter(record)
    assert json.loads(JsonFormatter().format(record))["request_id"] == "-"


def _give_totp(user) -> str:
    key = pyotp.random_base32(32)
    db.session.add(TotpCredential(user_id=user.id, secret_encrypted=encrypt(key), confirmed_at=idp.clock.now()))
    user.default_method = "totp"
    db.session.commit()
    return key


@pytest.mark.settings(logging={"level": "DEBUG"})
def test_a_whole_sign_in_logs_no_password_code_secret_or_token(client, user, rp, authz, capfd):
    key = _give_totp(user)
    capfd.readouterr()
    secrets = [TEST_PASSWORD, rp.secret]
    login = client.get(authz.url())
    uid = query(login.location)["uid"]
    response = client.post("/login", data={"csrf_token": csrf(client), "username": "dana", "password": TEST_PASSWORD,
                                           "uid": uid})
    assert "/login/second-factor" in response.location
    totp = pyotp.TOTP(key).at(idp.clock.now())
    secrets.append(totp)
    response = client.post("/login/second-factor", data={"csrf_token": csrf(client), "method": "totp", "code": totp})
    assert response.status_code == 303, response.status_code
    response = client.get(response.location)
    code = query(response.location)["code"]
    tokens = client.post("/token", data=authz.token_form(code), headers=authz.basic_auth()).get_json()
    refreshed = client.post("/token", headers=authz.basic_auth(), data={
        "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}).get_json()
    assert client.get("/userinfo", headers={"Authorization": f"Bearer {refreshed['access_token']}"}).status_code == 200
    secrets += [code, tokens["access_token"], tokens["refresh_token"], tokens["id_token"], refreshed["access_token"],
                refreshed["refresh_token"], authz.verifier]
    err = capfd.readouterr().err
    assert "login_success" in err and "password_ok" in err  # the log was captured
    for secret in secrets:
        assert secret not in err
    assert all(line["request_id"] != "-" for line in _json_lines(err) if line["logger"].startswith("idp"))
