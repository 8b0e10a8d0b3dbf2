"""Every way an SSO session ends notifies the RPs of that session: "sign out" of another session or everywhere on
the account page, and an owner disabling a person."""

from __future__ import annotations

import sqlalchemy as sa

from helpers import TEST_PASSWORD, AuthorizationRequest, Browser, csrf_token
from idp.extensions import db
from idp.models import LoginSession
from idp.oidc import logout


def test_signing_out_everywhere_notifies_the_rps(client, make_rp, make_receiver, sign_in):
    receiver = make_receiver(200)
    rp = make_rp(backchannel_logout_uri=receiver.url)
    sign_in(rp)
    page = client.get("/account/security").get_data(as_text=True)
    client.post("/account/sessions/end", data={"csrf_token": csrf_token(page), "all": "1"})
    logout.wait_for_deliveries(10)
    assert len(receiver.posts) == 1 and "logout_token" in receiver.posts[0]


def test_signing_out_another_browser_notifies_only_its_rps(app, client, make_rp, make_receiver, user):
    receiver = make_receiver(200)
    rp = make_rp(backchannel_logout_uri=receiver.url)
    other = app.test_client()
    Browser(other).code(AuthorizationRequest(rp), "dana", TEST_PASSWORD)
    Browser(client).code(AuthorizationRequest(make_rp()), "dana", TEST_PASSWORD)
    other_id = db.session.scalars(sa.select(LoginSession.id).order_by(LoginSession.id)).first()
    page = client.get("/account/security").get_data(as_text=True)
    client.post("/account/sessions/end", data={"csrf_token": csrf_token(page), "session_id": other_id})
    logout.wait_for_deliveries(10)
    assert len(receiver.posts) == 1


def test_nothing_is_sent_when_the_change_is_rolled_back(app, make_rp, make_receiver, sign_in, user):
    receiver = make_receiver(200)
    sign_in(make_rp(backchannel_logout_uri=receiver.url))
    sessions = db.session.scalars(sa.select(LoginSession)).all()
    logout.end_sessions(sessions)
    db.session.rollback()
    logout.wait_for_deliveries(5)
    assert receiver.posts == []
