"""Initial access tokens of the registration API in the console and the CLI: issued (shown once), listed without
the token, revoked; a revoked token registers nothing."""

from __future__ import annotations

import json
import re

from admin_helpers import admin, audit_events, console  # noqa: F401 (fixtures)
from helpers import error_of, post
from idp.cli import cli
from idp.extensions import db
from idp.oidc.registration import issue_registration_token

TOKEN_RE = re.compile(r'<p class="secret" id="registration-token">([^<]+)</p>')


def _register(http, token: str):
    return http.post("/register", json={"client_name": "Partner", "redirect_uris": ["https://partner.example/cb"]},
                     headers={"Authorization": f"Bearer {token}"})


def test_the_console_issues_a_token_once_lists_it_and_revokes_it(console, admin):
    response = post(console, "/admin/registration-tokens", expires_in="3600", max_uses="2", note="Partner Ltd")
    assert response.status_code == 303 and response.location == "/admin/registration-tokens"
    page = console.get(response.location).get_data(as_text=True)
    token = TOKEN_RE.search(page).group(1)
    assert "Partner Ltd" in page and "0 of 2" in page and "active" in page
    assert token not in console.get("/admin/registration-tokens").get_data(as_text=True)
    assert audit_events("registration_token_issued")[-1].actor_id == admin.id
    assert _register(console, token).status_code == 201
    token_id = audit_events("registration_token_issued")[-1].details["token_id"]
    assert post(console, f"/admin/registration-tokens/{token_id}/revoke").status_code == 303
    assert "revoked" in console.get("/admin/registration-tokens").get_data(as_text=True)
    assert _register(console, token).status_code == 401
    assert audit_events("registration_token_revoked")[-1].actor_id == admin.id


def test_the_console_refuses_bad_token_settings_with_the_service_message(console):
    response = post(console, "/admin/registration-tokens", expires_in="5", max_uses="1")
    assert response.status_code == 400 and "expires_in: seconds between 60" in error_of(response)
    response = post(console, "/admin/registration-tokens", expires_in="abc", max_uses="1", note="kept")
    assert response.status_code == 400 and "expires_in: a whole number" in error_of(response)
    assert 'value="kept"' in response.get_data(as_text=True)
    assert post(console, "/admin/registration-tokens/999/revoke").status_code == 404


def test_cli_lists_tokens_without_the_token_and_revokes(app, client):
    row, token = issue_registration_token(expires_in=3600, max_uses=3, note="for Acme")
    db.session.commit()
    runner = app.test_cli_runner()
    listed = runner.invoke(cli, ["clients", "registration-tokens", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.output)
    assert rows[0]["id"] == row.id and rows[0]["note"] == "for Acme" and rows[0]["status"] == "active"
    assert rows[0]["uses"] == 0 and rows[0]["max_uses"] == 3
    assert token not in listed.output and row.token_hash not in listed.output
    table = runner.invoke(cli, ["clients", "registration-tokens", "list"])
    assert "for Acme" in table.output and token not in table.output
    revoked = runner.invoke(cli, ["clients", "registration-tokens", "revoke", str(row.id)])
    assert revoked.exit_code == 0 and "revoked" in revoked.output
    assert json.loads(runner.invoke(cli, ["clients", "registration-tokens", "list", "--json"]).output)[0]["status"] \
        == "revoked"
    assert _register(client, token).status_code == 401
    missing = runner.invoke(cli, ["clients", "registration-tokens", "revoke", "999"])
    assert missing.exit_code != 0 and "no token 999" in missing.output


def test_cli_issue_takes_a_note(app):
    result = app.test_cli_runner().invoke(cli, ["clients", "issue-registration-token", "--note", "CI", "--json"])
    assert result.exit_code == 0, result.output
    assert audit_events("registration_token_issued")[-1].details["note"] == "CI"
