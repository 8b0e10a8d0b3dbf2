"""Protocol helpers for tests: an authorization request with state, nonce and PKCE, and a browser that logs in.

Modelled on node-oidc-provider's AuthorizationRequest: a test changes one parameter and asserts one behaviour.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import socket
import threading
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlencode, urlsplit

import sqlalchemy as sa
from joserfc import jwt
from joserfc.jwk import KeySet

from idp.extensions import db

TEST_PASSWORD = "a long test passphrase"
def reset_schema() -> None:
    """Drop and create every table: each test starts on a clean schema (inside an app context)."""
    db.session.remove()
    with db.engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
    db.metadata.drop_all(db.engine)
    db.metadata.create_all(db.engine)


CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "page has no CSRF token"
    return match.group(1)


ERROR_RE = re.compile(r'<p class="error" role="alert">(.*?)</p>', re.S)


def csrf(client) -> str:
    """A CSRF token of this browser, from a page without side effects."""
    return csrf_token(client.get("/login").get_data(as_text=True))


def post(client, url: str, **data):
    return client.post(url, data={"csrf_token": csrf(client), **data})


def error_of(response) -> str | None:
    match = ERROR_RE.search(response.get_data(as_text=True))
    return match.group(1).strip() if match else None


def b64url(data: bytes) -> str:
    """base64url without padding (JOSE, WebAuthn)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SilentServer:
    """A TCP server on a free loopback port that accepts connections and never answers: a hanging SMS gateway or
    mail server. ``accepted`` counts the connections."""

    def __init__(self):
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.accepted = 0
        self._connections: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return
            self._connections.append(connection)
            self.accepted += 1

    def close(self) -> None:
        self._listener.close()
        for connection in self._connections:
            connection.close()


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = b64url(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge


@dataclass
class AuthorizationRequest:
    client: object
    scope: str = "openid profile email"
    state: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    nonce: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    verifier: str = ""
    challenge: str = ""

    def __post_init__(self):
        self.verifier, self.challenge = pkce_pair()

    @property
    def redirect_uri(self) -> str:
        return self.client.redirect_uris[0]

    def params(self, **changes) -> dict:
        params = {
            "response_type": "code",
            "client_id": self.client.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": self.scope,
            "state": self.state,
            "nonce": self.nonce,
            "code_challenge": self.challenge,
            "code_challenge_method": "S256",
        }
        params.update(changes)
        return {k: v for k, v in params.items() if v is not None}

    def url(self, **changes) -> str:
        return "/authorize?" + urlencode(self.params(**changes))

    def token_form(self, code: str, **changes) -> dict:
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": self.redirect_uri,
                "code_verifier": self.verifier}
        form.update(changes)
        return {k: v for k, v in form.items() if v is not None}

    def basic_auth(self) -> dict:
        raw = f"{self.client.client_id}:{self.client.secret}".encode()
        return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def query(location: str) -> dict:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def assert_redirect_error(response, error: str, redirect_uri: str | None = None) -> dict:
    assert response.status_code in (302, 303), response.status_code
    params = query(response.location)
    assert params.get("error") == error, params
    if redirect_uri:
        assert response.location.startswith(redirect_uri + "?")
    return params


def assert_error_page(response) -> None:
    assert response.status_code == 400, response.status_code
    assert "location" not in response.headers
    assert b"not valid" in response.data


def decode_id_token(id_token: str, jwks: dict):
    return jwt.decode(id_token, KeySet.import_key_set(jwks), algorithms=["RS256", "ES256"])


class Browser:
    """A test client used like a person's browser: follows the login form for a parked authorization request."""

    def __init__(self, client):
        self.client = client

    def login_page(self, location: str):
        response = self.client.get(location)
        assert response.status_code == 200, response.status_code
        return response

    def submit_login(self, login_location: str, username: str, password: str):
        page = self.login_page(login_location)
        html = page.get_data(as_text=True)
        uid = query(login_location).get("uid")
        form = {"csrf_token": csrf_token(html), "username": username, "password": password}
        if uid:
            form["uid"] = uid
        return self.client.post("/login", data=form)

    def authorize(self, authz: AuthorizationRequest, username: str | None = None, password: str | None = None,
                  **changes):
        """Run /authorize; log in on the way when asked; return the final redirect to the client."""
        response = self.client.get(authz.url(**changes))
        if username is not None and response.status_code == 303 and "/login" in response.location:
            response = self.submit_login(response.location, username, password)
            assert response.status_code == 303, response.get_data(as_text=True)
            response = self.client.get(response.location)
        return response

    def code(self, authz: AuthorizationRequest, username: str, password: str, **changes) -> str:
        response = self.authorize(authz, username, password, **changes)
        assert response.status_code == 302, (response.status_code, response.get_data(as_text=True)[:500])
        params = query(response.location)
        assert "code" in params, params
        return params["code"]


RACE_TIMEOUT = 60


def race(app, clients, send) -> list[tuple[int, str]]:
    """Run ``send(client)`` for every client at once, each in its own thread and app context (own database
    session), released together by a barrier; returns (status, body) per client."""
    n = len(clients)
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def worker(i: int) -> None:
        try:
            with app.app_context():
                barrier.wait(timeout=RACE_TIMEOUT)
                response = send(clients[i])
                results[i] = (response.status_code, response.get_data(as_text=True))
        except BaseException as exc:  # reported by the main thread
            results[i] = exc

    db.session.commit()  # the test's own session must not hold a transaction (on SQLite: the write lock)
    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(RACE_TIMEOUT)
    assert not any(thread.is_alive() for thread in threads), "a request did not finish"
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return results
