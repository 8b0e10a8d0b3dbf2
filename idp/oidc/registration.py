"""Registering and managing OAuth clients: validation, secrets, rotation; the one code path for the CLI, the admin
console and the registration API.

Redirect URIs are absolute, exact-match, https except on loopback hosts, with no fragment and no wildcard
(RFC 9700 2.1, 4.1.3); so are post-logout redirect URIs. URLs idp itself calls, the back-channel logout URI
(Back-Channel Logout 1.0 section 2.2) and a private_key_jwt ``jwks_uri``, must also be https on a public host unless
``clients.allow_local_uris`` (``security.outbound``). Secrets are generated here, returned once and stored as a keyed
hash; a rotation keeps the old secret valid for a grace period. Grant types and scopes must be ones idp supports.
A private_key_jwt client (RFC 7523) has no secret but public keys, inline (``jwks``) or by URL (``jwks_uri``).

Dynamic Client Registration (RFC 7591, RFC 7592; the protocol is in dcr.py) adds two kinds of bearer token, both
returned once and kept as SHA-256: initial access tokens (RFC 7591 3) an administrator issues, each good for a number
of registrations, and the registration access token (RFC 7592 3) that manages one registered client.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import current_app

from .. import audit, clock
from ..errors import IdpError
from ..extensions import db
from ..models import Client, RegistrationToken
from ..security import outbound
from ..security.tokens import hash_client_secret, new_secret, token_checksum
from . import client_keys
from .claims import SCOPES_SUPPORTED

LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}
DEFAULT_SCOPE = "openid profile email offline_access"
#: what idp supports; a new client gets DEFAULT_GRANT_TYPES, client_credentials only when asked for (confidential)
GRANT_TYPES = ("authorization_code", "refresh_token", "client_credentials")
DEFAULT_GRANT_TYPES = ("authorization_code", "refresh_token")
LIFETIMES = ("access_token_lifetime", "id_token_lifetime", "refresh_token_lifetime")


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


#: token endpoint authentication methods (RFC 7591 2); "none" is a public client
CONFIDENTIAL_METHODS = ("client_secret_basic", "client_secret_post", "private_key_jwt")
SECRET_METHODS = ("client_secret_basic", "client_secret_post")
AUTH_METHODS = (*CONFIDENTIAL_METHODS, "none")
ID_TOKEN_ALGS = ("RS256", "ES256")


def create_client(*, name: str, redirect_uris: list[str], public: bool = False, trusted: bool = False,
                  post_logout_redirect_uris: list[str] = (), client_id: str | None = None,
                  client_secret: str | None = None, id_token_signed_response_alg: str = "RS256",
                  token_endpoint_auth_method: str = "client_secret_basic",
                  backchannel_logout_uri: str | None = None, grant_types: list[str] | None = None,
                  scope: str | None = None, jwks: dict | str | None = None, jwks_uri: str | None = None,
                  requires_2fa: bool = False, enabled: bool = True, access_token_lifetime: int | None = None,
                  id_token_lifetime: int | None = None, refresh_token_lifetime: int | None = None,
                  actor=None) -> tuple[Client, str | None]:
    """Create a client; returns it and its secret (None for a public or private_key_jwt client). The secret is
    not kept. ``public`` and ``token_endpoint_auth_method="none"`` mean the same."""
    public = public or token_endpoint_auth_method == "none"
    method = "none" if public else token_endpoint_auth_method
    if method not in AUTH_METHODS:
        raise ClientError(f"token_endpoint_auth_method: one of {', '.join(AUTH_METHODS)}.")
    client_id = client_id or secrets.token_hex(16)  # hex: never starts with "-", which a CLI would take for an option
    client = Client(client_id=client_id, response_types=["code"], token_endpoint_auth_method=method)
    _apply(client, dict(
        name=name, redirect_uris=redirect_uris, post_logout_redirect_uris=list(post_logout_redirect_uris),
        backchannel_logout_uri=backchannel_logout_uri,
        grant_types=list(DEFAULT_GRANT_TYPES) if grant_types is None else grant_types,
        scope=DEFAULT_SCOPE if scope is None else scope, id_token_signed_response_alg=id_token_signed_response_alg,
        jwks=jwks, jwks_uri=jwks_uri, trusted=trusted, requires_2fa=requires_2fa, enabled=enabled,
        access_token_lifetime=access_token_lifetime, id_token_lifetime=id_token_lifetime,
        refresh_token_lifetime=refresh_token_lifetime))
    _check_consistency(client)
    if db.session.scalar(sa.select(Client.id).where(Client.client_id == client_id)) is not None:
        raise ClientError(f"client_id: {client_id!r} is taken.")
    secret = (client_secret or new_secret(32)) if method in SECRET_METHODS else None
    client.client_secret_hash = hash_client_secret(secret) if secret else None
    db.session.add(client)
    db.session.flush()
    audit.record("client_created", actor=actor, client_id=client_id, name=client.name, public=public,
                 trusted=client.trusted, auth_method=method)
    return client, secret


def validate_grant_types(grant_types: list[str]) -> list[str]:
    if not isinstance(grant_types, (list, tuple)) or not all(isinstance(g, str) for g in grant_types):
        raise ClientError("grant_types: a list of grant types.")
    unknown = [g for g in grant_types if g not in GRANT_TYPES]
    if unknown or "authorization_code" not in grant_types:
        raise ClientError(f"grant_types: supported are {', '.join(GRANT_TYPES)} (authorization_code required); "
                          f"got {', '.join(grant_types) or 'none'}.")
    return list(dict.fromkeys(grant_types))


def validate_scope(scope: str) -> str:
    if not isinstance(scope, str):
        raise ClientError("scope: a space-separated list of scopes.")
    scopes = scope.split()
    unknown = [s for s in scopes if s not in SCOPES_SUPPORTED]
    if unknown or "openid" not in scopes:
        raise ClientError(f"scope: must include openid and only {', '.join(SCOPES_SUPPORTED)}; "
                          f"unknown: {', '.join(unknown) or 'none'}.")
    return " ".join(dict.fromkeys(scopes))


def validate_outbound_uri(uri: str | None, field: str) -> str | None:
    """A URL idp itself sends requests to (back-channel logout, jwks_uri): absolute, no fragment, and public
    unless ``clients.allow_local_uris`` (security.outbound)."""
    if not uri:
        return None
    if not isinstance(uri, str) or len(uri) > 2000:
        raise ClientError(f"{field}: a URL of at most 2000 characters.")
    validate_redirect_uri(uri, field)
    try:
        return outbound.check_url(uri, outbound.allows_local())
    except outbound.OutboundError as exc:
        raise ClientError(f"{field}: {exc}: {uri!r}") from None


def update_client(client: Client, *, actor=None, **changes) -> Client:
    """Change a client's metadata; every value is checked like at creation, then the whole. Audited."""
    if "token_endpoint_auth_method" in changes:
        _change_auth_method(client, changes.pop("token_endpoint_auth_method"))
        changes_named = sorted([*changes, "token_endpoint_auth_method"])
    else:
        changes_named = sorted(changes)
    _apply(client, changes)
    _check_consistency(client)
    if "jwks_uri" in changes:
        client_keys.forget_cached()
    audit.record("client_changed", actor=actor, client_id=client.client_id, fields=changes_named)
    return client


def _validators() -> dict:
    return {
        "name": _validate_name,
        "redirect_uris": lambda v: _uris(v, "redirect_uri", required=True),
        "post_logout_redirect_uris": lambda v: _uris(v, "post_logout_redirect_uri"),
        "backchannel_logout_uri": lambda v: validate_outbound_uri(v, "backchannel_logout_uri"),
        "grant_types": validate_grant_types,
        "scope": validate_scope,
        "id_token_signed_response_alg": _validate_alg,
        "jwks": _validate_jwks,
        "jwks_uri": lambda v: validate_outbound_uri(v, "jwks_uri"),
        "trusted": bool, "requires_2fa": bool, "enabled": bool,
        **{name: _lifetime(name) for name in LIFETIMES},
    }


def _apply(client: Client, changes: dict) -> None:
    validators = _validators()
    for field, value in changes.items():
        if field not in validators:
            raise ClientError(f"{field}: cannot be changed here.")
        setattr(client, field, validators[field](value))


def _change_auth_method(client: Client, method: str) -> None:
    """Between the confidential methods only: a public client stays public (its users' tokens were issued to an
    app that keeps no secret). Moving to private_key_jwt drops the secret; moving back needs a new one."""
    if method == client.token_endpoint_auth_method:
        return
    if method not in CONFIDENTIAL_METHODS or client.is_public:
        raise ClientError("token_endpoint_auth_method: a public client stays public and a confidential one "
                          f"confidential ({', '.join(CONFIDENTIAL_METHODS)}); register a new client instead.")
    if method in SECRET_METHODS and client.client_secret_hash is None:
        raise ClientError("token_endpoint_auth_method: this client has no secret yet; rotate the secret to issue "
                          "one, then choose a secret method.")
    if method == "private_key_jwt":
        client.client_secret_hash = client.previous_secret_hash = client.previous_secret_expires_at = None
    client.token_endpoint_auth_method = method


def _check_consistency(client: Client) -> None:
    """Rules across fields (RFC 7591 2): private_key_jwt needs exactly one of jwks and jwks_uri, others none; the
    client-credentials grant needs a confidential client."""
    if client.jwks and client.jwks_uri:
        raise ClientError("jwks_uri: give jwks or jwks_uri, not both.")
    if client.token_endpoint_auth_method == "private_key_jwt":
        if not (client.jwks or client.jwks_uri):
            raise ClientError("token_endpoint_auth_method: private_key_jwt needs the client's public keys, "
                              "as jwks or jwks_uri.")
    elif client.jwks or client.jwks_uri:
        raise ClientError("jwks: public keys are only used with token_endpoint_auth_method private_key_jwt.")
    if client.is_public and "client_credentials" in client.grant_types:  # RFC 6749 4.4: confidential clients only
        raise ClientError("grant_types: client_credentials is for confidential clients only.")


def _validate_jwks(value):
    if value in (None, "", {}):
        return None
    try:
        return client_keys.validate_jwks(value)
    except client_keys.ClientKeyError as exc:
        raise ClientError(f"jwks: {exc}.") from None


def rotate_secret(client: Client, *, actor=None, grace: int | None = None) -> str:
    """A new secret (returned once); the old one keeps working for ``grace`` seconds, then is void.

    A private_key_jwt client cannot authenticate with it (the method must match); it is how such a client gets a
    secret before it moves to a secret method."""
    if client.is_public:
        raise ClientError("client_secret: a public client has no secret.")
    grace = current_app.config["IDP_SETTINGS"].tokens.secret_rotation_grace if grace is None else grace
    secret = new_secret(32)
    client.previous_secret_hash = client.client_secret_hash if grace > 0 else None
    client.previous_secret_expires_at = clock.now() + timedelta(seconds=grace) if grace > 0 else None
    client.client_secret_hash = hash_client_secret(secret)
    audit.record("client_secret_rotated", actor=actor, client_id=client.client_id, grace_seconds=grace)
    return secret


def delete_client(client: Client, *, actor=None) -> None:
    """Remove a client with its codes, tokens and consents (cascade)."""
    audit.record("client_deleted", actor=actor, client_id=client.client_id, name=client.name)
    db.session.delete(client)


def find_client(client_id: str) -> Client:
    client = db.session.scalar(sa.select(Client).where(Client.client_id == client_id))
    if client is None:
        raise ClientError(f"client_id: no client {client_id!r}.")
    return client


def _validate_name(name: str) -> str:
    name = (name if isinstance(name, str) else "").strip()
    if not name or len(name) > 200:
        raise ClientError("name: required, at most 200 characters.")
    return name


def _validate_alg(alg: str) -> str:
    if alg not in ID_TOKEN_ALGS:
        raise ClientError("id_token_signed_response_alg: RS256 or ES256.")
    return alg


def _uris(values: list[str], field: str, required: bool = False) -> list[str]:
    if not isinstance(values, (list, tuple)) or not all(isinstance(v, str) and len(v) <= 2000 for v in values):
        raise ClientError(f"{field}: a list of URLs of at most 2000 characters each.")
    if required and not values:
        raise ClientError(f"{field}: at least one is required.")
    return list(dict.fromkeys(validate_redirect_uri(v, field) for v in values))


def _lifetime(field: str):
    def check(value):
        if value is None:
            return None
        if not isinstance(value, int) or isinstance(value, bool) or not 60 <= value <= 31536000:
            raise ClientError(f"{field}: seconds between 60 and 31536000, or none for the default.")
        return value
    return check


MAX_TOKEN_LENGTH = 512


def issue_registration_token(*, expires_in: int = 86400, max_uses: int = 1, note: str | None = None,
                             actor=None) -> tuple[RegistrationToken, str]:
    """An initial access token for POST /register (RFC 7591 3); returns the row and the token (not kept). Audited."""
    if not isinstance(expires_in, int) or isinstance(expires_in, bool) or not 60 <= expires_in <= 31536000:
        raise ClientError("expires_in: seconds between 60 and 31536000.")
    if not isinstance(max_uses, int) or isinstance(max_uses, bool) or not 1 <= max_uses <= 10000:
        raise ClientError("max_uses: between 1 and 10000.")
    note = " ".join((note or "").split()) or None
    if note is not None and len(note) > 200:
        raise ClientError("note: at most 200 characters.")
    value = new_secret(32)
    row = RegistrationToken(token_hash=token_checksum(value), expires_at=clock.now() + timedelta(seconds=expires_in),
                            max_uses=max_uses, uses=0, created_by_id=actor.id if actor else None, note=note)
    db.session.add(row)
    db.session.flush()
    audit.record("registration_token_issued", actor=actor, token_id=row.id, max_uses=max_uses,
                 expires_at=row.expires_at.isoformat(), note=note)
    return row, value


def list_registration_tokens() -> list[RegistrationToken]:
    """Every initial access token, newest first (the rows hold only checksums)."""
    return list(db.session.scalars(sa.select(RegistrationToken).order_by(RegistrationToken.id.desc())))


def registration_token_status(row: RegistrationToken) -> str:
    if row.revoked_at is not None:
        return "revoked"
    if row.uses >= row.max_uses:
        return "used up"
    return "expired" if row.expires_at <= clock.now() else "active"


def revoke_registration_token(token_id: int, *, actor=None) -> RegistrationToken:
    """Stop an initial access token from registering more clients (the ones it registered stay). Audited."""
    row = db.session.get(RegistrationToken, token_id) if isinstance(token_id, int) else None
    if row is None:
        raise ClientError(f"registration token: no token {token_id!r}.")
    if row.revoked_at is None:
        row.revoked_at = clock.now()
        audit.record("registration_token_revoked", actor=actor, token_id=row.id)
    return row


def use_registration_token(value: str | None) -> RegistrationToken | None:
    """Spend one use of an initial access token; None when it is unknown, expired, revoked or used up.

    ``UPDATE ... SET uses = uses + 1 WHERE id = :id AND uses < max_uses AND revoked_at IS NULL AND expires_at > now``
    must change exactly one row, so a token registers at most ``max_uses`` clients however many requests race. The
    use is part of the caller's transaction: rolled back with a refused registration.
    """
    if not value or len(value) > MAX_TOKEN_LENGTH:
        return None
    row = db.session.scalar(sa.select(RegistrationToken).where(RegistrationToken.token_hash == token_checksum(value)))
    if row is None:
        return None
    result = db.session.execute(
        sa.update(RegistrationToken)
        .where(RegistrationToken.id == row.id, RegistrationToken.uses < RegistrationToken.max_uses,
               RegistrationToken.revoked_at.is_(None), RegistrationToken.expires_at > clock.now())
        .values(uses=RegistrationToken.uses + 1),
        execution_options={"synchronize_session": False},
    )
    return row if result.rowcount == 1 else None


def issue_registration_access_token(client: Client) -> str:
    """A new registration access token for ``client`` (RFC 7592 3), replacing any earlier one; returned once."""
    value = new_secret(32)
    client.registration_access_token_hash = token_checksum(value)
    return value


def find_client_by_registration_access_token(value: str | None) -> Client | None:
    if not value or len(value) > MAX_TOKEN_LENGTH:
        return None
    return db.session.scalar(sa.select(Client).where(Client.registration_access_token_hash == token_checksum(value)))
