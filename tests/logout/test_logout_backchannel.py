"""Logout tokens sent by idp, OpenID Connect Back-Channel Logout 1.0 sections 2.4-2.8 (SECURITY.md AS-20):
decoded as an RP would, posted to real local receivers, only to the RPs of the session, never delaying the user."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa
from joserfc import jwt
from joserfc.jwk import KeySet

from helpers import csrf_token
from idp.extensions import db
from idp.models import AuditEvent
from idp.oidc import logout

EVENT = "http://schemas.openid.net/event/backchannel-logout"


def end_session(client, signed_in):
    """The RP's logout request; returns (response, seconds it took)."""
    start = time.monotonic()
    response = client.get("/logout", query_string={"id_token_hint": signed_in.id_token})
    return response, time.monotonic() - start


def decode(client, token: str):
    return jwt.decode(token, KeySet.import_key_set(client.get("/jwks.json").json), algorithms=["RS256", "ES256"])


def test_logout_token_claims_and_header(client, make_rp, make_receiver, sign_in, user):
    receiver = make_receiver()
    rp = make_rp(receiver.url)
    signed_in = sign_in(rp)
    id_token = decode(client, signed_in.id_token)
    response, _ = end_session(client, signed_in)
    assert response.status_code == 200
    logout.wait_for_deliveries()
    [post] = receiver.posts
    assert post["content_type"] == "application/x-www-form-urlencoded"
    token = decode(client, post["logout_token"])
    jwks_kids = {key["kid"] for key in client.get("/jwks.json").json["keys"]}
    assert token.header["typ"] == "logout+jwt" and token.header["kid"] in jwks_kids
    assert token.header["kid"] == id_token.header["kid"] and token.header["alg"] == "RS256"
    claims = token.claims
    assert claims["iss"] == "http://127.0.0.1:8000" and claims["aud"] == rp.client_id
    assert claims["sub"] == user.subject and claims["sid"] == id_token.claims["sid"]
    assert claims["events"] == {EVENT: {}}
    assert "nonce" not in claims and id_token.claims.get("nonce")
    assert claims["exp"] - claims["iat"] == 120 and abs(claims["iat"] - time.time()) < 5
    assert len(claims["jti"]) >= 16


def test_es256_client_gets_an_es256_logout_token(client, make_rp, make_receiver, sign_in):
    receiver = make_receiver()
    signed_in = sign_in(make_rp(receiver.url, id_token_signed_response_alg="ES256"))
    end_session(client, signed_in)
    logout.wait_for_deliveries()
    token = decode(client, receiver.posts[0]["logout_token"])
    assert token.header["alg"] == "ES256" and token.header["kid"] == decode(client, signed_in.id_token).header["kid"]


def test_only_the_rps_of_the_session_are_notified(client, make_rp, make_receiver, sign_in):
    first, second, bystander = make_receiver(), make_receiver(), make_receiver()
    signed_in = sign_in(make_rp(first.url))
    sign_in(make_rp(second.url))  # single sign-on: the same session
    make_rp(bystander.url)
    make_rp(None)  # no back-channel URI: nothing to send
    end_session(client, signed_in)
    logout.wait_for_deliveries()
    tokens = [decode(client, r.posts[0]["logout_token"]).claims for r in (first, second)]
    assert len(first.posts) == len(second.posts) == 1 and bystander.posts == []
    assert tokens[0]["sid"] == tokens[1]["sid"] and tokens[0]["jti"] != tokens[1]["jti"]
    assert tokens[0]["aud"] != tokens[1]["aud"]


def test_a_later_session_does_not_notify_rps_of_an_earlier_one(client, make_rp, make_receiver, sign_in):
    earlier = make_receiver()
    first = sign_in(make_rp(earlier.url))
    end_session(client, first)
    logout.wait_for_deliveries()
    later = make_receiver()
    second = sign_in(make_rp(later.url))
    end_session(client, second)
    logout.wait_for_deliveries()
    assert len(earlier.posts) == 1 and len(later.posts) == 1


def test_idps_own_sign_out_notifies_the_rps_too(client, make_rp, make_receiver, sign_in):
    receiver = make_receiver()
    sign_in(make_rp(receiver.url))
    client.post("/logout", data={"csrf_token": csrf_token(client.get("/logout").get_data(as_text=True))})
    logout.wait_for_deliveries()
    assert len(receiver.posts) == 1


def _failures() -> list[AuditEvent]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.event == "backchannel_logout_failed")))


def test_an_rp_that_is_down_does_not_delay_logout_and_is_audited(client, make_rp, sign_in, closed_port_url):
    rp = make_rp(closed_port_url)
    response, took = end_session(client, sign_in(rp))
    assert response.status_code == 200 and took < 1.0
    logout.wait_for_deliveries()
    [failure] = _failures()
    assert failure.client_id == rp.client_id and failure.details["error"] == "ConnectionError"


def test_an_rp_that_hangs_does_not_delay_logout(client, make_rp, make_receiver, sign_in, monkeypatch):
    monkeypatch.setattr(logout, "DELIVERY_ATTEMPTS", 2)
    receiver = make_receiver(delay=10)
    rp = make_rp(receiver.url)
    response, took = end_session(client, sign_in(rp))
    assert response.status_code == 200 and took < 1.0  # well under the 2 s timeout
    start = time.monotonic()
    logout.wait_for_deliveries()
    assert 2 * logout.DELIVERY_TIMEOUT <= time.monotonic() - start < 2 * logout.DELIVERY_TIMEOUT + 2
    assert len(receiver.posts) == 2
    assert _failures()[0].details["error"] == "ReadTimeout"


@pytest.mark.parametrize(("status", "attempts"), [(500, 3), (503, 3), (400, 1), (302, 1)])
def test_server_errors_are_retried_and_refusals_are_not(client, make_rp, make_receiver, sign_in, status, attempts):
    receiver = make_receiver(status)
    end_session(client, sign_in(make_rp(receiver.url)))
    logout.wait_for_deliveries()
    assert len(receiver.posts) == attempts
    assert _failures()[0].details["error"] == f"HTTP {status}"


def test_a_receiver_that_recovers_gets_the_token_on_a_retry(client, make_rp, make_receiver, sign_in):
    receiver = make_receiver(503, 200)
    end_session(client, sign_in(make_rp(receiver.url)))
    logout.wait_for_deliveries()
    assert len(receiver.posts) == 2 and _failures() == []

