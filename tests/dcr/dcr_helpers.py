"""Helpers for Dynamic Client Registration tests (RFC 7591, RFC 7592): tokens, registration calls, a registered
client shaped for ``helpers.AuthorizationRequest``."""

from __future__ import annotations

from dataclasses import dataclass

from idp.extensions import db
from idp.oidc.registration import issue_registration_token

REDIRECT_URI = "http://127.0.0.1:9100/callback"
METADATA = {"client_name": "Partner tool", "redirect_uris": [REDIRECT_URI]}


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def issue(expires_in: int = 86400, max_uses: int = 1) -> str:
    """A committed initial access token (the main thread must not hold a transaction during HTTP calls)."""
    _row, token = issue_registration_token(expires_in=expires_in, max_uses=max_uses)
    db.session.commit()
    return token


def register(http, token: str, **metadata):
    return http.post("/register", json={**METADATA, **metadata}, headers=bearer(token))


def configuration_path(body: dict) -> str:
    return body["registration_client_uri"].removeprefix("http://127.0.0.1:8000")


@dataclass
class Registered:
    """A client as its developer knows it after registering: id, redirect URIs and the secret it was given."""

    client_id: str
    redirect_uris: list[str]
    secret: str | None

    @classmethod
    def from_response(cls, body: dict) -> "Registered":
        return cls(body["client_id"], body["redirect_uris"], body.get("client_secret"))


def assert_oauth_error(response, status: int, error: str) -> dict:
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:300])
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert body["error"] == error, body
    return body
