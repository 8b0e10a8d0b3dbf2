"""The panel relying party (clients/panel.py) through Flask's test client, with idp replaced by a fake in-process
provider: requests' transport is patched, so no server runs."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import time
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet

from clients import cri, rcp
from clients.panel import PanelSettings, create_panel_app, load_panel_settings

ISSUER = "http://idp.test"
BASE_URL = "http://rcp.test"
CLIENT_ID = "rcp"
CLIENT_SECRET = "rcp-secret"

FULL_CONFIG = f"""
[panel]
name = "Resellers Control Panel"
issuer = "{ISSUER}"
client_id = "{CLIENT_ID}"
client_secret = "{CLIENT_SECRET}"
base_url = "{BASE_URL}"
cookie_name = "rcp_session"
secret_key = "a-test-secret-key-of-some-length"
"""


def make_settings(**overrides) -> PanelSettings:
    values = dict(name="Resellers Control Panel", issuer=ISSUER, client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
                  base_url=BASE_URL, cookie_name="rcp_session", secret_key="a-test-secret-key-of-some-length")
    return PanelSettings(**{**values, **overrides})


class FakeProvider:
    """Discovery, JWKS and token endpoints of an OpenID provider, answering requests' PreparedRequests."""

    def __init__(self):
        self.key = ECKey.generate_key("P-256", parameters={"kid": "test-key", "use": "sig", "alg": "ES256"})
        self.signing_key = self.key
        self.issuer = ISSUER
        self.metadata = {
            "issuer": ISSUER,
            "authorization_endpoint": ISSUER + "/authorize",
            "token_endpoint": ISSUER + "/token",
            "jwks_uri": ISSUER + "/jwks.json",
            "id_token_signing_alg_values_supported": ["ES256"],
            "authorization_response_iss_parameter_supported": True,
        }
        self.codes: dict[str, dict] = {}
        self.claims_override: dict = {}
        self.token_requests = 0

    def authorize(self, location: str) -> str:
        """Accept the authorization request the panel redirected to; return the callback query string."""
        assert location.startswith(self.metadata["authorization_endpoint"] + "?")
        params = {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}
        assert params["response_type"] == "code"
        assert params["client_id"] == CLIENT_ID
        assert params["redirect_uri"] == BASE_URL + "/callback"
        assert params["code_challenge_method"] == "S256"
        assert set(params["scope"].split()) == {"openid", "profile", "email"}
        code = f"code-{len(self.codes)}"
        self.codes[code] = params
        return f"code={code}&state={params['state']}&iss={self.issuer}"

    def id_token(self, request: dict) -> str:
        now = int(time.time())
        claims = {"iss": ISSUER, "sub": "user-123", "aud": CLIENT_ID, "iat": now, "exp": now + 300,
                  "auth_time": now - 5, "nonce": request["nonce"], "amr": ["pwd", "otp"], "acr": "urn:idp:acr:mfa",
                  "name": "Dana Demo", "preferred_username": "dana", "email": "dana@reseller.example",
                  **self.claims_override}
        return jwt.encode({"alg": "ES256", "kid": "test-key"}, claims, self.signing_key)

    def token(self, prepared) -> tuple[int, dict]:
        self.token_requests += 1
        expected = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        if prepared.headers.get("Authorization") != f"Basic {expected}":
            return 401, {"error": "invalid_client"}
        form = {key: values[0] for key, values in parse_qs(prepared.body).items()}
        request = self.codes.pop(form.get("code"), None)
        if form.get("grant_type") != "authorization_code" or request is None:
            return 400, {"error": "invalid_grant"}
        challenge = base64.urlsafe_b64encode(hashlib.sha256(form["code_verifier"].encode()).digest()).rstrip(b"=")
        if challenge.decode() != request["code_challenge"] or form.get("redirect_uri") != request["redirect_uri"]:
            return 400, {"error": "invalid_grant"}
        return 200, {"access_token": "at", "token_type": "Bearer", "expires_in": 300, "id_token": self.id_token(request)}

    def send(self, prepared) -> tuple[int, dict]:
        url = prepared.url
        if url == ISSUER + "/.well-known/openid-configuration":
            return 200, self.metadata
        if url == self.metadata["jwks_uri"]:
            return 200, KeySet([self.key]).as_dict(private=False)
        if url == self.metadata["token_endpoint"] and prepared.method == "POST":
            return self.token(prepared)
        return 404, {"error": "not_found"}


@pytest.fixture
def provider(monkeypatch):
    fake = FakeProvider()

    def send(session, prepared, **kwargs):
        status, body = fake.send(prepared)
        response = requests.Response()
        response.status_code = status
        response._content = json.dumps(body).encode()
        response.headers["Content-Type"] = "application/json"
        response.url = prepared.url
        response.request = prepared
        return response

    monkeypatch.setattr(requests.Session, "send", send)
    return fake


@pytest.fixture
def offline(monkeypatch):
    """Fail any HTTP request: tests using this must not need the provider."""

    def send(session, prepared, **kwargs):
        raise requests.ConnectionError(f"no network in this test: {prepared.url}")

    monkeypatch.setattr(requests.Session, "send", send)


@pytest.fixture
def app():
    return create_panel_app(make_settings())


@pytest.fixture
def client(app):
    return app.test_client()


def sign_in(client, provider: FakeProvider, tamper=None):
    login = client.get("/login")
    assert login.status_code == 302
    query = provider.authorize(login.location)
    if tamper:
        query = tamper(query)
    return client.get("/callback?" + query)


def csrf_token(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


# Settings


@pytest.mark.parametrize("key", ["issuer", "client_id", "client_secret", "base_url", "secret_key"])
def test_missing_setting_is_named(tmp_path, key):
    path = tmp_path / "panel.toml"
    path.write_text("\n".join(line for line in FULL_CONFIG.splitlines() if not line.startswith(key + " ")))
    with pytest.raises(ValueError, match=f"'{key}' is missing"):
        load_panel_settings(path, {"name": "X", "cookie_name": "x_session"})


@pytest.mark.parametrize(("key", "value"), [
    ("issuer", "ftp://idp.test"), ("issuer", "http://idp.test/"), ("base_url", "not a url"),
    ("cookie_name", "bad name;"), ("secret_key", "short"), ("client_id", ""), ("client_secret", 42),
])
def test_invalid_setting_is_named(tmp_path, key, value):
    path = tmp_path / "panel.toml"
    lines = [line for line in FULL_CONFIG.splitlines() if not line.startswith(key + " ")]
    path.write_text("\n".join(lines) + f"\n{key} = {json.dumps(value)}\n")
    with pytest.raises(ValueError, match=f"'{key}'"):
        load_panel_settings(path)


def test_unknown_key_and_missing_table_are_refused(tmp_path):
    path = tmp_path / "panel.toml"
    path.write_text(FULL_CONFIG + "clientid = 'typo'\n")
    with pytest.raises(ValueError, match="'clientid'"):
        load_panel_settings(path)
    path.write_text("[other]\n")
    with pytest.raises(ValueError, match=r"\[panel\]"):
        load_panel_settings(path)


def test_defaults_fill_in_name_and_cookie_name(tmp_path):
    path = tmp_path / "panel.toml"
    path.write_text("\n".join(line for line in FULL_CONFIG.splitlines()
                              if not line.startswith(("name ", "cookie_name "))))
    settings = load_panel_settings(path, cri.DEFAULTS)
    assert (settings.name, settings.cookie_name) == ("Classic Reseller Interface", "cri_session")
    assert settings.redirect_uri == BASE_URL + "/callback"
    assert CLIENT_SECRET not in repr(settings)


@pytest.mark.parametrize("package", [rcp, cri])
def test_create_app_reads_config_from_env_and_example_is_valid(monkeypatch, package):
    example = f"clients/{package.__name__.rsplit('.', 1)[1]}/config.example.toml"
    monkeypatch.setenv(package.CONFIG_ENV, example)
    app = package.create_app()
    assert app.config["SESSION_COOKIE_NAME"] == package.DEFAULTS["cookie_name"]
    assert app.config["PANEL_SETTINGS"].name == package.DEFAULTS["name"]


# Pages, headers, cookie


def test_home_signed_out_offers_log_in(client, offline):
    response = client.get("/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<title>Resellers Control Panel</title>" in html
    assert '<a class="button" href="/login">Log in</a>' in html
    assert "Signed in as" not in html


@pytest.mark.parametrize("path", ["/", "/static/panel.css", "/callback?error=access_denied&state=x", "/nowhere"])
def test_security_headers_on_every_response(client, offline, path):
    with client.get(path) as response:
        assert response.headers["Content-Security-Policy"] == "default-src 'self'; frame-ancestors 'none'"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "no-referrer"


def test_session_cookie_uses_configured_name(client, offline):
    with client.session_transaction() as session:
        session["probe"] = 1
    response = client.get("/")
    cookie = client.get_cookie("rcp_session")
    assert cookie is not None and cookie.http_only and cookie.same_site == "Lax"
    assert client.get_cookie("session") is None
    assert response.status_code == 200


def test_cookie_name_and_flags_in_set_cookie_header(provider):
    client = create_panel_app(make_settings(cookie_name="cri_session")).test_client()
    response = client.get("/login")  # keeps state, nonce and PKCE verifier in the session
    header = response.headers.get("Set-Cookie", "")
    assert header.startswith("cri_session=") and "HttpOnly" in header and "SameSite=Lax" in header


# Logout and CSRF


def test_logout_without_csrf_token_is_refused(client, offline):
    with client.session_transaction() as session:
        session["user"] = {"sub": "user-123", "name": "Dana", "preferred_username": "dana", "amr": ["pwd"]}
    response = client.post("/logout")
    assert response.status_code == 400
    assert "csrf_failed" in response.get_data(as_text=True)
    assert "Signed in as" in client.get("/").get_data(as_text=True)


def test_signed_in_home_and_logout_with_csrf_token(client, offline):
    with client.session_transaction() as session:
        session["user"] = {"sub": "user-123", "name": "Dana Demo", "preferred_username": "dana",
                           "email": "dana@reseller.example", "amr": ["pwd", "otp"], "acr": "urn:idp:acr:mfa",
                           "auth_time": 1_700_000_000, "id_token": "x.y.z"}
    html = client.get("/").get_data(as_text=True)
    assert "Signed in as <strong>Dana Demo</strong> (dana)" in html
    for text in ("dana@reseller.example", "user-123", "<code>pwd</code>, <code>otp</code>", "urn:idp:acr:mfa",
                 "2023-11-14 22:13:20 UTC", "Log out"):
        assert text in html
    response = client.post("/logout", data={"csrf_token": csrf_token(html)})
    assert response.status_code == 303 and response.location == "/"
    assert "Log in" in client.get("/").get_data(as_text=True)


# Callback errors that need no provider


def test_callback_error_shows_error_page(client, offline):
    response = client.get("/callback?error=access_denied&state=x&error_description=User+said+no")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "access_denied" in html and "User said no" in html


def test_callback_with_unknown_state_is_refused(client, offline):
    response = client.get("/callback?code=abc&state=forged&iss=" + ISSUER)
    assert response.status_code == 400
    assert "invalid_state" in response.get_data(as_text=True)


def test_callback_with_foreign_iss_is_refused_even_for_errors(client, offline):
    response = client.get("/callback?error=access_denied&state=x&iss=http://evil.test")
    assert response.status_code == 400
    assert "invalid_issuer" in response.get_data(as_text=True)


def test_login_when_provider_unreachable_shows_error(client, offline):
    response = client.get("/login")
    assert response.status_code == 502
    assert "temporarily_unavailable" in response.get_data(as_text=True)


# The whole flow against the fake provider


def test_sign_in_stores_verified_claims_and_redirects_home(client, provider):
    response = sign_in(client, provider)
    assert response.status_code == 303 and response.location == "/"
    with client.session_transaction() as session:
        user = session["user"]
        assert not any(key.startswith("_state_") for key in session)
    assert user["sub"] == "user-123" and user["preferred_username"] == "dana" and user["amr"] == ["pwd", "otp"]
    assert user["acr"] == "urn:idp:acr:mfa" and user["id_token"].count(".") == 2
    assert set(user) == {"sub", "name", "preferred_username", "email", "amr", "acr", "auth_time", "id_token"}
    assert "Signed in as <strong>Dana Demo</strong> (dana)" in client.get("/").get_data(as_text=True)


def test_code_cannot_be_replayed_through_the_callback(client, provider):
    login = client.get("/login")
    query = provider.authorize(login.location)
    assert client.get("/callback?" + query).status_code == 303
    replay = client.get("/callback?" + query)
    assert replay.status_code == 400 and "invalid_state" in replay.get_data(as_text=True)


@pytest.mark.parametrize(("override", "label"), [
    ({"aud": "someone-else"}, "audience"),
    ({"aud": ["someone-else", "another"], "azp": CLIENT_ID}, "audience among several"),
    ({"iss": "http://evil.test"}, "issuer"),
    ({"nonce": "replayed"}, "nonce"),
    ({"exp": int(time.time()) - 3600}, "expiry"),
])
def test_id_token_failing_verification_is_refused(client, provider, override, label):
    provider.claims_override = override
    response = sign_in(client, provider)
    assert response.status_code == 400, label
    assert "invalid_id_token" in response.get_data(as_text=True)
    with client.session_transaction() as session:
        assert "user" not in session


def test_id_token_signed_by_another_key_is_refused(client, provider):
    provider.signing_key = ECKey.generate_key("P-256", parameters={"kid": "test-key"})
    response = sign_in(client, provider)
    assert response.status_code == 400 and "invalid_id_token" in response.get_data(as_text=True)


@pytest.mark.parametrize(("tamper", "error"), [
    (lambda query: query.replace(f"iss={ISSUER}", "iss=http://evil.test"), "invalid_issuer"),
    (lambda query: query.replace(f"&iss={ISSUER}", ""), "invalid_issuer"),
    (lambda query: re.sub(r"code=[^&]+", "code=wrong", query), "invalid_grant"),
    (lambda query: re.sub(r"code=[^&]+&", "", query), "invalid_request"),
])
def test_tampered_authorization_response_is_refused(client, provider, tamper, error):
    response = sign_in(client, provider, tamper)
    assert response.status_code == 400
    assert error in response.get_data(as_text=True)


def test_discovery_with_another_issuer_is_refused(client, provider):
    provider.metadata["issuer"] = "http://evil.test"
    response = client.get("/login")
    assert response.status_code == 502 and "invalid_issuer" in response.get_data(as_text=True)


def test_pending_logins_are_bounded(client, provider):
    for _ in range(10):
        client.get("/login")
    with client.session_transaction() as session:
        assert sum(key.startswith("_state_idp_") for key in session) == 3
