"""Registering OAuth clients: validation and secrets, the one code path for the CLI (and later console and API).

Redirect URIs are absolute, exact-match, https except on loopback hosts, with no fragment and no wildcard
(RFC 9700 2.1, 4.1.3); so are post-logout redirect URIs and the back-channel logout URI (Back-Channel Logout 1.0
section 2.2: absolute, no fragment). Secrets are generated here, returned once and stored as a keyed hash.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import sqlalchemy as sa

from ..errors import IdpError
from ..extensions import db
from ..models import Client
from ..security.tokens import hash_client_secret, new_secret

LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}
DEFAULT_SCOPE = "openid profile email offline_access"


class ClientError(IdpError):
    """Client metadata that breaks a rule; the message names the field."""


def validate_redirect_uri(uri: str, field: str = "redirect_uri") -> str:
    try:
        parts = urlsplit(uri)
        host = parts.hostname
    except ValueError:
        raise ClientError(f"{field}: not a valid URL: {uri!r}") from None
    if parts.scheme not in ("https", "http") or not host:
        raise ClientError(f"{field}: must be an absolute http(s) URL: {uri!r}")
    if parts.scheme == "http" and host not in LOOPBACK_HOSTS:
        raise ClientError(f"{field}: must use https unless the host is a loopback address: {uri!r}")
    if parts.fragment or "#" in uri:
        raise ClientError(f"{field}: must not contain a fragment: {uri!r}")
    if "*" in uri:
        raise ClientError(f"{field}: wildcards are not allowed: {uri!r}")
    if parts.username or parts.password:
        raise ClientError(f"{field}: must not contain user information: {uri!r}")
    return uri


def create_client(*, name: str, redirect_uris: list[str], public: bool = False, trusted: bool = False,
                  post_logout_redirect_uris: list[str] = (), client_id: str | None = None,
                  client_secret: str | None = None, id_token_signed_response_alg: str = "RS256",
                  token_endpoint_auth_method: str = "client_secret_basic",
                  backchannel_logout_uri: str | None = None) -> tuple[Client, str | None]:
    """Create a client; returns it and its secret (None for a public client). The secret is not kept."""
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise ClientError("name: required, at most 200 characters.")
    if not redirect_uris:
        raise ClientError("redirect_uri: at least one is required.")
    if id_token_signed_response_alg not in ("RS256", "ES256"):
        raise ClientError("id_token_signed_response_alg: RS256 or ES256.")
    if not public and token_endpoint_auth_method not in ("client_secret_basic", "client_secret_post"):
        raise ClientError("token_endpoint_auth_method: client_secret_basic or client_secret_post.")
    uris = [validate_redirect_uri(u) for u in redirect_uris]
    logout_uris = [validate_redirect_uri(u, "post_logout_redirect_uri") for u in post_logout_redirect_uris]
    if backchannel_logout_uri:
        validate_redirect_uri(backchannel_logout_uri, "backchannel_logout_uri")
    client_id = client_id or new_secret(16)
    if db.session.scalar(sa.select(Client.id).where(Client.client_id == client_id)) is not None:
        raise ClientError(f"client_id: {client_id!r} is taken.")
    secret = None if public else (client_secret or new_secret(32))
    client = Client(
        client_id=client_id,
        client_secret_hash=hash_client_secret(secret) if secret else None,
        name=name,
        redirect_uris=list(dict.fromkeys(uris)),
        post_logout_redirect_uris=list(dict.fromkeys(logout_uris)),
        grant_types=["authorization_code", "refresh_token"],
        response_types=["code"],
        scope=DEFAULT_SCOPE,
        token_endpoint_auth_method="none" if public else token_endpoint_auth_method,
        id_token_signed_response_alg=id_token_signed_response_alg,
        trusted=trusted,
        backchannel_logout_uri=backchannel_logout_uri or None,
    )
    db.session.add(client)
    db.session.flush()
    return client, secret
