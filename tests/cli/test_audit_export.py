"""``idp audit export``: JSON lines with filters; the trail never holds a password, code, secret or token."""

from __future__ import annotations

import json
import re

import pyotp

from helpers import TEST_PASSWORD, csrf_token
from idp.cli import cli


def _export(app, *args):
    result = app.test_cli_runner().invoke(cli, args=["audit", "export", *args])
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.output.splitlines()]


def _activity(client, browser, authz):
    """A failed and a successful login, an authenticator app enrolment, tokens."""
    page = client.get("/login").get_data(as_text=True)
    client.post("/login", data={"csrf_token": csrf_token(page), "username": "dana", "password": "wrong password 1"})
    code = browser.code(authz, "dana", TEST_PASSWORD)
    tokens = client.post("/token", data=authz.token_form(code), headers=authz.basic_auth()).json
    page = client.get("/account/totp/enrol").get_data(as_text=True)
    response = client.post("/account/totp/enrol", data={"csrf_token": csrf_token(page), "password": TEST_PASSWORD})
    page = client.get(response.location).get_data(as_text=True)
    key = re.search(r'id="totp-key">([^<]+)<', page).group(1).replace(" ", "")
    totp_code = pyotp.TOTP(key).now()
    client.post("/account/totp/confirm", data={"csrf_token": csrf_token(page), "code": totp_code})
    return [TEST_PASSWORD, "wrong password 1", key, totp_code, code, tokens["access_token"], tokens["refresh_token"],
            authz.client.secret]


def test_export_lists_events_as_json_lines_with_request_context(app, client, browser, authz, user):
    _activity(client, browser, authz)
    events = _export(app)
    names = [e["event"] for e in events]
    assert "login_failed" in names and "login_success" in names and "second_factor_enabled" in names
    failed = next(e for e in events if e["event"] == "login_failed")
    assert failed["subject_id"] == user.id and failed["details"]["reason"] == "wrong password"
    assert failed["ip"] and failed["request_id"]


def test_export_filters_by_event_and_time(app, client, browser, authz, user):
    _activity(client, browser, authz)
    assert {e["event"] for e in _export(app, "--event", "login_failed")} == {"login_failed"}
    assert _export(app, "--since", "2999-01-01") == []


def test_the_audit_trail_holds_no_secret(app, client, browser, authz, user):
    secrets_used = _activity(client, browser, authz)
    dump = json.dumps(_export(app))
    for value in secrets_used:
        assert value not in dump


def test_a_bad_date_is_a_clear_error(app):
    result = app.test_cli_runner().invoke(cli, args=["audit", "export", "--since", "yesterday"])
    assert result.exit_code != 0 and "ISO 8601" in result.output
