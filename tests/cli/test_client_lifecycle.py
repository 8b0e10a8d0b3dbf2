"""Client lifecycle through the CLI and the one service underneath: update, rotate with grace, disable, delete."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from unittest import mock

import sqlalchemy as sa

from helpers import TEST_PASSWORD, AuthorizationRequest
from idp import clock
from idp.cli import cli
from idp.extensions import db
from idp.models import AuditEvent, Client


def _run(app, *args, input=None):
    return app.test_cli_runner().invoke(cli, args=list(args), input=input)


def _token_call(client, authz, secret):
    auth = base64.b64encode(f"{authz.client.client_id}:{secret}".encode()).decode()
    return client.post("/token", data={"grant_type": "refresh_token", "refresh_token": "x"},
                       headers={"Authorization": f"Basic {auth}"})


def test_update_changes_only_the_given_settings_and_validates_them(app, rp):
    result = _run(app, "clients", "update", rp.client_id, "--name", "Billing", "--requires-2fa",
                  "--access-token-lifetime", "300", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["name"] == "Billing" and data["requires_2fa"] is True and data["access_token_lifetime"] == 300
    assert data["redirect_uris"] == rp.redirect_uris
    bad = _run(app, "clients", "update", rp.client_id, "--redirect-uri", "http://evil.example/cb")
    assert bad.exit_code != 0 and "https" in bad.output
    bad_grant = _run(app, "clients", "update", rp.client_id, "--grant-type", "password")
    assert bad_grant.exit_code != 0 and "grant_types" in bad_grant.output
    bad_scope = _run(app, "clients", "update", rp.client_id, "--scope", "openid admin")
    assert bad_scope.exit_code != 0 and "admin" in bad_scope.output


def test_show_never_contains_the_secret(app, rp):
    result = _run(app, "clients", "show", rp.client_id, "--json")
    assert rp.secret not in result.output and rp.client_id in result.output


def test_rotated_secret_keeps_the_old_one_during_the_grace_period_only(app, client, rp):
    authz = AuthorizationRequest(rp)
    old = rp.secret
    result = _run(app, "clients", "rotate-secret", rp.client_id, "--grace", "600", "--json")
    new = json.loads(result.output)["client_secret"]
    assert new != old
    # invalid_grant (the refresh token is bogus) means the client authenticated; invalid_client means it did not
    assert _token_call(client, authz, new).json["error"] == "invalid_grant"
    assert _token_call(client, authz, old).json["error"] == "invalid_grant"
    with mock.patch("idp.clock.now", return_value=clock.now() + timedelta(seconds=601)):
        assert _token_call(client, authz, old).json["error"] == "invalid_client"
        assert _token_call(client, authz, new).json["error"] == "invalid_grant"


def test_a_disabled_client_is_refused_at_authorize_and_token(app, client, browser, rp, user):
    authz = AuthorizationRequest(rp)
    code = browser.code(authz, "dana", TEST_PASSWORD)
    assert _run(app, "clients", "disable", rp.client_id).exit_code == 0
    assert client.post("/token", data=authz.token_form(code), headers=authz.basic_auth()).json["error"] == "invalid_client"
    assert client.get(AuthorizationRequest(rp).url()).status_code == 400


def test_delete_removes_the_client_and_is_audited(app, rp):
    assert _run(app, "clients", "delete", rp.client_id, "--yes").exit_code == 0
    assert db.session.scalar(sa.select(Client).where(Client.client_id == rp.client_id)) is None
    events = db.session.scalars(sa.select(AuditEvent.event)).all()
    assert {"client_created", "client_deleted"} <= set(events)
