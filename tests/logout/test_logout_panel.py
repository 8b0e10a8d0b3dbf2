"""The panels' side of single logout: the back-channel endpoint (Back-Channel Logout 1.0 sections 2.5-2.8) with
its server-side store of ended sessions, and "Log out" as RP-Initiated Logout 1.0 (sections 2-3). idp is a fake
here (requests' transport is patched); tests/e2e/test_single_logout.py runs the real one."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet, RSAKey

from clients import panel as panel_module
from clients.backchannel import LogoutStore
from clients.panel import PanelSettings, create_panel_app, load_panel_settings
from helpers import csrf_token

ISSUER = "http://idp.test"
BASE_URL = "http://rcp.test"
EVENT = "http://schemas.openid.net/event/backchannel-logout"


class Provider:
    """idp's discovery and JWKS, and logout tokens signed with its key (change a claim; None removes it)."""

    def __init__(self):
        self.keys = [RSAKey.generate_key(2048, parameters={"kid": "k1", "alg": "RS256", "use": "sig"})]
        self.metadata = {"issuer": ISSUER, "authorization_endpoint": ISSUER + "/authorize",
                         "token_endpoint": ISSUER + "/token", "jwks_uri": ISSUER + "/jwks.json",
                         "end_session_endpoint": ISSUER + "/logout"}

    def logout_token(self, key=None, header=None, **changes) -> str:
        now = int(time.time())
        claims = {"iss": ISSUER, "aud": "rcp", "iat": now, "exp": now + 120, "jti": secrets.token_urlsafe(12),
                  "sid": "sid-1", "sub": "user-123", "events": {EVENT: {}}, **changes}
        key = key or self.keys[-1]
        header = {"alg": key.alg, "kid": key.kid, "typ": "logout+jwt", **(header or {})}
        return jwt.encode(header, {k: v for k, v in claims.items() if v is not None}, key,
                          algorithms=[header["alg"]])

    def send(self, prepared) -> tuple[int, dict]:
        if prepared.url == ISSUER + "/.well-known/openid-configuration":
            return 200, self.metadata
        if prepared.url == self.metadata["jwks_uri"]:
            return 200, KeySet(self.keys).as_dict(private=False)
        return 404, {"error": "not_found"}


@pytest.fixture
def provider(monkeypatch):
    fake = Provider()

    def send(session, prepared, **kwargs):
        status, body = fake.send(prepared)
        response = requests.Response()
        response.status_code, response._content, response.url = status, json.dumps(body).encode(), prepared.url
        response.headers["Content-Type"] = "application/json"
        return response

    monkeypatch.setattr(requests.Session, "send", send)
    return fake


@pytest.fixture
def store_path(tmp_path):
    return tmp_path / "rcp-logouts.sqlite3"


@pytest.fixture
def app(store_path):
    return create_panel_app(PanelSettings(name="Resellers Control Panel", issuer=ISSUER, client_id="rcp",
                                          client_secret="secret", base_url=BASE_URL, cookie_name="rcp_session",
                                          secret_key="a-test-secret-key-of-some-length", logout_store=str(store_path)))


@pytest.fixture
def browser(app):
    """A browser signed in to the panel in session ``sid-1`` of user ``user-123``."""
    return signed_in(app)


def signed_in(app, sid: str | None = "sid-1", sub: str = "user-123", at: float | None = None):
    browser = app.test_client()
    with browser.session_transaction() as session:
        session["user"] = {"sub": sub, "name": "Dana Demo", "preferred_username": "dana", "amr": ["pwd"],
                           "id_token": "header.payload.signature"}
        session["sid"] = sid
        session["signed_in_at"] = time.time() if at is None else at
    return browser


def is_signed_in(browser) -> bool:
    html = browser.get("/").get_data(as_text=True)
    assert ("Signed in as" in html) != ("Log in" in html)
    return "Signed in as" in html


def post_token(app, token: str):
    return app.test_client().post("/backchannel-logout", data={"logout_token": token})


# Back-channel logout


def test_a_valid_logout_token_ends_the_session_it_names(app, provider, browser, store_path):
    other = signed_in(app, sid="sid-2")
    assert not store_path.exists()  # created by the first logout, not by reading
    response = post_token(app, provider.logout_token())
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    assert not is_signed_in(browser)
    assert browser.get_cookie("rcp_session") is None
    assert is_signed_in(other)


def test_a_token_with_only_sub_ends_that_users_earlier_sessions(app, provider):
    earlier = signed_in(app, sid="sid-9", at=time.time() - 60)
    someone_else = signed_in(app, sid=None, sub="user-456", at=time.time() - 60)
    token = provider.logout_token(sid=None)
    assert post_token(app, token).status_code == 200
    later = signed_in(app, sid="sid-10")
    assert not is_signed_in(earlier)
    assert is_signed_in(someone_else) and is_signed_in(later)
    assert post_token(app, token).status_code == 200  # a replay changes nothing: the later session stays
    assert is_signed_in(later)


def test_a_rotated_key_is_fetched_when_a_token_names_it(app, provider, browser):
    assert post_token(app, provider.logout_token(sid="sid-0")).status_code == 200  # caches the JWKS
    provider.keys.append(ECKey.generate_key("P-256", parameters={"kid": "k2", "alg": "ES256", "use": "sig"}))
    assert post_token(app, provider.logout_token()).status_code == 200
    assert not is_signed_in(browser)


def _now() -> int:
    return int(time.time())


#: claims changed from a valid logout token; ``iat`` and ``exp`` are seconds from the moment the test runs (not from
#: collection: a long run would turn "in the future" into the past)
INVALID = {
    "other issuer": dict(iss="http://evil.test"),
    "other audience": dict(aud="cri"),
    "expired": dict(iat=-300, exp=-180),
    "issued in the future": dict(iat=600, exp=720),
    "issued too long ago": dict(iat=-3600, exp=60),
    "no exp": dict(exp=None),
    "no jti": dict(jti=None),
    "with nonce": dict(nonce="n-0S6_WzA2Mj"),
    "no events": dict(events=None),
    "another event": dict(events={"http://schemas.openid.net/event/other": {}}),
    "event not an object": dict(events={EVENT: "yes"}),
    "neither sid nor sub": dict(sid=None, sub=None),
    "typed as an ID token": dict(header={"typ": "JWT"}),
}


@pytest.mark.parametrize("changes", INVALID.values(), ids=INVALID.keys())
def test_an_invalid_logout_token_gets_400_and_ends_nothing(app, provider, browser, changes):
    changes = {k: _now() + v if k in ("iat", "exp") and v is not None else v for k, v in changes.items()}
    response = post_token(app, provider.logout_token(**changes))
    assert response.status_code == 400 and response.headers["Cache-Control"] == "no-store"
    assert response.json["error"] == "invalid_request" and response.json["error_description"]
    assert is_signed_in(browser)


def _signed_by_a_stranger(provider) -> str:
    return provider.logout_token(key=RSAKey.generate_key(2048, parameters={"kid": "k1", "alg": "RS256"}))


def _hmac_with_the_public_key(provider) -> str:
    """Algorithm confusion: HS256 keyed with the published RSA key (joserfc refuses to build one, so by hand)."""
    payload = provider.logout_token().split(".")[1]
    header = base64.urlsafe_b64encode(b'{"alg":"HS256","kid":"k1","typ":"logout+jwt"}').rstrip(b"=").decode()
    mac = hmac.new(provider.keys[0].as_pem(private=False), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"


def _unsigned(provider) -> str:
    payload = provider.logout_token().split(".")[1]
    return f"eyJhbGciOiJub25lIn0.{payload}."  # {"alg":"none"}


@pytest.mark.parametrize("token", [_signed_by_a_stranger, _hmac_with_the_public_key, _unsigned, lambda _: "",
                                   lambda _: "x" * 9000, lambda _: "not.a.jwt"])
def test_a_forged_logout_token_gets_400(app, provider, browser, token):
    response = post_token(app, token(provider))
    assert response.status_code == 400 and response.json["error"] == "invalid_request"
    assert is_signed_in(browser)


def test_provider_unreachable_gets_400(app, monkeypatch, browser):
    def send(session, prepared, **kwargs):
        raise requests.ConnectionError("down")

    monkeypatch.setattr(requests.Session, "send", send)
    response = post_token(app, "a.b.c")
    assert response.status_code == 400 and "could not be reached" in response.json["error_description"]


# RP-initiated logout


def test_log_out_clears_the_session_and_asks_idp_to_end_its_own(app, provider, browser):
    html = browser.get("/").get_data(as_text=True)
    response = browser.post("/logout", data={"csrf_token": csrf_token(html)})
    assert response.status_code == 303
    location = urlsplit(response.location)
    assert f"{location.scheme}://{location.netloc}{location.path}" == ISSUER + "/logout"
    params = {k: v[0] for k, v in parse_qs(location.query).items()}
    assert params["id_token_hint"] == "header.payload.signature" and params["client_id"] == "rcp"
    assert params["post_logout_redirect_uri"] == BASE_URL + "/" and len(params["state"]) >= 20
    assert not is_signed_in(browser)

    assert "You have been signed out" not in browser.get("/?state=forged").get_data(as_text=True)
    assert "You have been signed out" in browser.get("/?state=" + params["state"]).get_data(as_text=True)
    assert "You have been signed out" not in browser.get("/?state=" + params["state"]).get_data(as_text=True)


def test_log_out_is_local_when_idp_has_no_end_session_endpoint(app, provider, browser):
    del provider.metadata["end_session_endpoint"]
    response = browser.post("/logout", data={"csrf_token": csrf_token(browser.get("/").get_data(as_text=True))})
    assert response.status_code == 303 and response.location == "/"
    assert not is_signed_in(browser)


# Settings


def test_logout_store_is_optional_and_defaults_to_the_instance_folder(tmp_path, monkeypatch):
    config = tmp_path / "rcp.toml"
    config.write_text(f'[panel]\nissuer = "{ISSUER}"\nclient_id = "rcp"\nclient_secret = "s"\nbase_url = "{BASE_URL}"\n'
                      'secret_key = "a-test-secret-key-of-some-length"\n')
    settings = load_panel_settings(config, {"name": "RCP", "cookie_name": "rcp_session"})
    assert settings.logout_store == ""
    app = create_panel_app(settings)
    assert panel_module.default_logout_store(app, settings) == f"{app.instance_path}/rcp-logouts.sqlite3"
    monkeypatch.setattr(panel_module, "LOGOUT_STORE_DIR", str(tmp_path))
    assert panel_module.default_logout_store(app, settings) == f"{tmp_path}/rcp-logouts.sqlite3"
    config.write_text(config.read_text() + f'logout_store = "{tmp_path}/x.sqlite3"\n')
    assert load_panel_settings(config, {"name": "RCP", "cookie_name": "rcp_session"}).logout_store.endswith("x.sqlite3")


def test_store_remembers_across_instances(tmp_path):
    path = tmp_path / "sub" / "logouts.sqlite3"
    LogoutStore(path).remember({"jti": "j1", "sid": "s1", "sub": "u1", "iat": _now()})
    assert LogoutStore(path).is_logged_out("s1", "u1", time.time())
    assert not LogoutStore(path).is_logged_out("s2", "u1", 0)
