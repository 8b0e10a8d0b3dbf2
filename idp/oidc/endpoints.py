"""Token revocation (RFC 7009) and introspection (RFC 7662) on Authlib's endpoints.

Revoking a refresh token ends its whole grant family; revoking an access token ends that issuance. A client may
introspect the tokens issued to it; introspection needs a confidential client (RFC 7662 2.1).
"""

from __future__ import annotations

from authlib.oauth2.rfc7009 import RevocationEndpoint as _RevocationEndpoint
from authlib.oauth2.rfc7662 import IntrospectionEndpoint as _IntrospectionEndpoint
from flask import current_app

from .. import audit, clock
from ..models import Token
from . import store

#: (token row, "access_token" | "refresh_token")
Found = tuple[Token, str]


def find_token(value: str, hint: str | None) -> Found | None:
    """Look the value up as the hinted type first, then as the other (RFC 7009 2.1: the hint is only a hint)."""
    kinds = ["refresh_token", "access_token"] if hint == "refresh_token" else ["access_token", "refresh_token"]
    for kind in kinds:
        row = store.find_access_token(value) if kind == "access_token" else store.find_refresh_token(value)
        if row is not None:
            return row, kind
    return None


def is_active(row: Token, kind: str) -> bool:
    now = clock.now()
    if row.revoked_at is not None or (row.user is not None and row.user.disabled) or not row.client.enabled:
        return False
    if kind == "refresh_token":
        return row.refresh_used_at is None and row.refresh_expires_at is not None and row.refresh_expires_at > now
    return row.expires_at > now


class RevocationEndpoint(_RevocationEndpoint):
    CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"]

    def query_token(self, token_string, token_type_hint):
        return _Checked.wrap(find_token(token_string, token_type_hint))

    def revoke_token(self, token, request):
        row, kind = token.found
        if kind == "refresh_token":
            store.revoke_tokens(Token.grant_id == row.grant_id)
        else:
            row.revoked_at = row.revoked_at or clock.now()
        audit.record("token_revoked", subject=row.user, client_id=row.client_id, token_type=kind)


class IntrospectionEndpoint(_IntrospectionEndpoint):
    CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt"]

    def query_token(self, token_string, token_type_hint):
        return _Checked.wrap(find_token(token_string, token_type_hint))

    def check_permission(self, token, client, request):
        return token.found[0].client_id == client.client_id

    def create_introspection_payload(self, token):
        if token is None or not is_active(*token.found):
            return {"active": False}
        row, kind = token.found
        expires = row.refresh_expires_at if kind == "refresh_token" else row.expires_at
        payload = {
            "active": True,
            "scope": row.scope,
            "client_id": row.client_id,
            "aud": row.client_id,
            "iss": current_app.config["IDP_SETTINGS"].issuer,
            "token_type": "refresh_token" if kind == "refresh_token" else "Bearer",
            "iat": int(row.issued_at.timestamp()),
            "exp": int(expires.timestamp()),
        }
        if row.user is not None:  # client-credentials tokens have no user (RFC 7662 2.2: sub, username optional)
            payload.update(username=row.user.username, sub=row.user.subject)
        return payload


class _Checked:
    """What Authlib's endpoints pass around as "the token": our row and which of its two values was presented."""

    def __init__(self, found: Found):
        self.found = found

    @classmethod
    def wrap(cls, found: Found | None) -> "_Checked | None":
        return cls(found) if found is not None else None

    def check_client(self, client) -> bool:
        return self.found[0].client_id == client.client_id
