"""A password set by an administrator is replaced before the second factor: the second-factor step cannot skip it."""

from __future__ import annotations

from idp.extensions import db
from idp.models import LoginSession
from mfa_helpers import clock, count, csrf, give_totp, password_login, submit_code, totp_code

__all__ = ["clock"]


def test_the_second_factor_waits_for_the_new_password(client, user, clock):
    key = give_totp(user)
    user.password_change_required = True
    db.session.commit()
    response = password_login(client)
    assert response.location == "/login/new-password"

    assert client.get("/login/second-factor").location == "/login/new-password"
    skipped = submit_code(client, totp_code(key))
    assert skipped.status_code == 303 and skipped.location == "/login/new-password"
    assert client.post("/login/second-factor/resend", data={"csrf_token": csrf(client)}).status_code == 400
    assert client.post("/login/second-factor/webauthn", data={"csrf_token": csrf(client)}).status_code == 400
    assert count(LoginSession) == 0
