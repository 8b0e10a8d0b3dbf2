"""The end-session endpoint, OpenID Connect RP-Initiated Logout 1.0 sections 2-4 and 6 (SECURITY.md AS-19, SES-5):
exact post-logout redirect URIs, verified hints, confirmation without one, and a session that ends server-side."""

from __future__ import annotations

import base64
import json
import time

import pytest
import sqlalchemy as sa
from joserfc import jwt
from joserfc.jwk import RSAKey

from helpers import AuthorizationRequest, csrf_token, query
from idp.extensions import db
from idp.models import AuditEvent, LoginSession
from idp.oidc.keys import load_keyring

CONFIRM = "Sign out of all reseller applications?"


@pytest.fixture
def panel(make_rp):
    return make_rp()


@pytest.fixture
def signed_in(sign_in, panel):
    return sign_in(panel)


def session_of(sid: str) -> LoginSession:
    db.session.expire_all()
    return db.session.scalar(sa.select(LoginSession).where(LoginSession.sid == sid))


def claims_of(id_token: str) -> dict:
    payload = id_token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def our_token(settings, claims: dict, **header) -> str:
    """A JWT signed with idp's RS256 signing key (as an ID token would be)."""
    key = load_keyring(settings.keys.dir).signing_key("RS256")
    return jwt.encode({"alg": "RS256", "kid": key.kid, "typ": "JWT", **header}, claims, key.key)


def hint_claims(signed_in, **changes) -> dict:
    return {**claims_of(signed_in.id_token), **changes}


def assert_logout_error_page(response) -> None:
    assert response.status_code == 400
    assert "location" not in response.headers
    assert "This sign-out request is not valid" in response.get_data(as_text=True)


# Redirect URIs: exact match or an error page (section 3; OIDF bad-post-logout-redirect-uri)


@pytest.mark.parametrize("uri", ["http://127.0.0.1:9001/elsewhere", "http://127.0.0.1:9001", "https://evil.example/",
                                 "http://127.0.0.1:9001/?x=1"])
def test_unregistered_post_logout_redirect_uri_is_an_error_page(client, signed_in, uri):
    sid = claims_of(signed_in.id_token)["sid"]
    response = client.get("/logout", query_string={"id_token_hint": signed_in.id_token, "post_logout_redirect_uri": uri,
                                                   "state": "s1"})
    assert_logout_error_page(response)
    assert session_of(sid).ended_at is None


def test_redirect_uri_of_another_client_is_an_error_page(client, signed_in, make_rp):
    other = make_rp()
    response = client.get("/logout", query_string={"id_token_hint": signed_in.id_token,
                                                   "post_logout_redirect_uri": other.post_logout_redirect_uris[0]})
    assert_logout_error_page(response)


def test_redirect_uri_without_a_client_is_an_error_page(client, signed_in, panel):
    response = client.get("/logout", query_string={"post_logout_redirect_uri": panel.post_logout_redirect_uris[0]})
    assert_logout_error_page(response)


@pytest.mark.parametrize("client_id", ["no-such-client", "x" * 65])
def test_unknown_client_id_is_an_error_page(client, signed_in, client_id):
    assert_logout_error_page(client.get("/logout", query_string={"client_id": client_id}))


def test_client_id_that_is_not_the_hints_audience_is_an_error_page(client, signed_in, make_rp):
    other = make_rp()
    response = client.get("/logout", query_string={"id_token_hint": signed_in.id_token, "client_id": other.client_id})
    assert_logout_error_page(response)


# A trusted hint: logout at once, redirect with state, session ended server-side (SES-5)


def test_valid_hint_and_registered_uri_redirect_with_state_and_end_the_session(client, signed_in, panel, user):
    sid = claims_of(signed_in.id_token)["sid"]
    stolen = client.get_cookie("idp_session").value
    response = client.get("/logout", query_string={
        "id_token_hint": signed_in.id_token, "client_id": panel.client_id, "ui_locales": "fr",
        "post_logout_redirect_uri": panel.post_logout_redirect_uris[0], "state": "af0ifjsldkj"})
    assert response.status_code == 302
    assert response.location == panel.post_logout_redirect_uris[0] + "?state=af0ifjsldkj"
    assert session_of(sid).ended_at is not None
    assert "idp_session=;" in response.headers["Set-Cookie"]
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.event == "logout"))
    assert event.subject_id == user.id and event.client_id == panel.client_id and event.details["sid"] == sid

    client.set_cookie("idp_session", stolen)  # replaying the old cookie does not bring the session back
    response = client.get(AuthorizationRequest(panel).url(prompt="none"))
    assert query(response.location)["error"] == "login_required"


def test_an_rp_may_post_the_request_and_gets_a_303(client, signed_in, panel):
    response = client.post("/logout", data={"id_token_hint": signed_in.id_token,
                                            "post_logout_redirect_uri": panel.post_logout_redirect_uris[0]})
    assert response.status_code == 303 and response.location == panel.post_logout_redirect_uris[0]
    assert session_of(claims_of(signed_in.id_token)["sid"]).ended_at is not None


def test_an_expired_hint_is_still_accepted(client, settings, signed_in, panel):
    expired = our_token(settings, hint_claims(signed_in, iat=int(time.time()) - 7200, exp=int(time.time()) - 3600))
    response = client.get("/logout", query_string={"id_token_hint": expired,
                                                   "post_logout_redirect_uri": panel.post_logout_redirect_uris[0]})
    assert response.status_code == 302
    assert session_of(claims_of(signed_in.id_token)["sid"]).ended_at is not None


def test_without_a_redirect_uri_the_user_is_told_they_are_signed_out(client, signed_in):
    response = client.get("/logout", query_string={"id_token_hint": signed_in.id_token})
    assert response.status_code == 200
    assert "You are signed out" in response.get_data(as_text=True)
    assert session_of(claims_of(signed_in.id_token)["sid"]).ended_at is not None


def test_with_no_session_left_a_valid_request_just_redirects(client, signed_in, panel):
    client.get("/logout", query_string={"id_token_hint": signed_in.id_token})
    response = client.get("/logout", query_string={"client_id": panel.client_id,
                                                   "post_logout_redirect_uri": panel.post_logout_redirect_uris[0]})
    assert response.status_code == 302 and response.location == panel.post_logout_redirect_uris[0]


# No hint, or one we cannot trust: the user confirms (section 6; OIDF no-id-token-hint, bad/modified hint)


def test_without_a_hint_the_user_confirms_with_a_csrf_protected_form(client, signed_in, panel):
    sid = claims_of(signed_in.id_token)["sid"]
    page = client.get("/logout", query_string={"client_id": panel.client_id, "state": "xyz",
                                               "post_logout_redirect_uri": panel.post_logout_redirect_uris[0]})
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and CONFIRM in html and panel.name in html
    assert session_of(sid).ended_at is None

    forged = client.post("/logout", data={"confirm": "yes", "client_id": panel.client_id})
    assert forged.status_code == 400 and "location" not in forged.headers
    assert session_of(sid).ended_at is None

    form = {"csrf_token": csrf_token(html), "confirm": "yes", "client_id": panel.client_id, "state": "xyz",
            "post_logout_redirect_uri": panel.post_logout_redirect_uris[0]}
    response = client.post("/logout", data=form)
    assert response.status_code == 303
    assert response.location == panel.post_logout_redirect_uris[0] + "?state=xyz"
    assert session_of(sid).ended_at is not None


def test_idps_own_sign_out_button_ends_the_session(client, signed_in):
    sid = claims_of(signed_in.id_token)["sid"]
    home = client.get("/").get_data(as_text=True)
    response = client.post("/logout", data={"csrf_token": csrf_token(home)})
    assert response.status_code == 303 and response.location == "/logout"
    assert "You are signed out" in client.get(response.location).get_data(as_text=True)
    assert session_of(sid).ended_at is not None


def test_a_hint_for_another_user_asks_before_ending_this_session(client, settings, signed_in, make_user):
    someone_else = make_user("erin")
    hint = our_token(settings, hint_claims(signed_in, sub=someone_else.subject))
    response = client.get("/logout", query_string={"id_token_hint": hint})
    assert response.status_code == 200 and CONFIRM in response.get_data(as_text=True)
    assert session_of(claims_of(signed_in.id_token)["sid"]).ended_at is None


def test_a_hint_from_an_earlier_session_asks_first(client, settings, signed_in):
    hint = our_token(settings, hint_claims(signed_in, sid="an-ended-session"))
    response = client.get("/logout", query_string={"id_token_hint": hint})
    assert response.status_code == 200 and CONFIRM in response.get_data(as_text=True)


def _tampered(signed_in, settings) -> str:
    header, payload, signature = signed_in.id_token.split(".")
    claims = claims_of(signed_in.id_token) | {"sub": "someone-else"}
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


def _foreign_signed(signed_in, settings) -> str:
    kid = load_keyring(settings.keys.dir).signing_key("RS256").kid
    return jwt.encode({"alg": "RS256", "kid": kid}, claims_of(signed_in.id_token), RSAKey.generate_key(2048))


def _foreign_kid(signed_in, settings) -> str:
    return jwt.encode({"alg": "RS256", "kid": "theirs"}, claims_of(signed_in.id_token), RSAKey.generate_key(2048))


def _other_issuer(signed_in, settings) -> str:
    return our_token(settings, hint_claims(signed_in, iss="https://other.example"))


def _unknown_audience(signed_in, settings) -> str:
    return our_token(settings, hint_claims(signed_in, aud=["not-a-client"]))


def _a_logout_token(signed_in, settings) -> str:
    claims = hint_claims(signed_in, events={"http://schemas.openid.net/event/backchannel-logout": {}}, nonce=None)
    return our_token(settings, {k: v for k, v in claims.items() if v is not None}, typ="logout+jwt")


def _unsigned(signed_in, settings) -> str:
    header = base64.urlsafe_b64encode(b'{"alg":"none"}').rstrip(b"=").decode()
    return f"{header}.{signed_in.id_token.split('.')[1]}."


@pytest.mark.parametrize("forge", [_tampered, _foreign_signed, _foreign_kid, _other_issuer, _unknown_audience,
                                   _a_logout_token, _unsigned, lambda *_: "garbage"])
def test_an_untrusted_hint_is_refused_without_redirect_or_logout(client, settings, signed_in, panel, forge):
    response = client.get("/logout", query_string={"id_token_hint": forge(signed_in, settings), "state": "s",
                                                   "post_logout_redirect_uri": panel.post_logout_redirect_uris[0]})
    assert_logout_error_page(response)
    assert session_of(claims_of(signed_in.id_token)["sid"]).ended_at is None


# Discovery


def test_discovery_advertises_the_logout_endpoints(client, settings):
    metadata = client.get("/.well-known/openid-configuration").json
    assert metadata["end_session_endpoint"] == settings.issuer + "/logout"
    assert metadata["backchannel_logout_supported"] is True
    assert metadata["backchannel_logout_session_supported"] is True
    assert metadata["frontchannel_logout_supported"] is False
