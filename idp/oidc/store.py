"""Storage behind the Authlib seams: codes, tokens and nonces, with single use enforced by the database.

``consume`` is the one shape of single use (node-oidc-provider's ``consumable``):
``UPDATE ... SET <column> = now WHERE id = :id AND <column> IS NULL`` and a check that exactly one row changed.
"""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import joinedload
from flask import current_app, g, has_app_context

from .. import audit, clock
from ..extensions import db
from ..models import AuthorizationCode, Client, Token, User
from ..ops.metrics import count_token_issued
from ..security.tokens import new_secret, token_checksum


def _settings():
    return current_app.config["IDP_SETTINGS"]


def consume(model, row_id: int, column: str) -> bool:
    """Mark a single-use row used; True for exactly one caller, however many race."""
    col = getattr(model, column)
    result = db.session.execute(
        sa.update(model).where(model.id == row_id, col.is_(None)).values({column: clock.now()}),
        execution_options={"synchronize_session": False},
    )
    return result.rowcount == 1


def active_user(user: User | None) -> User | None:
    return user if user is not None and not user.disabled else None


def query_client(client_id: str) -> Client | None:
    """The enabled client, read once per request: Authlib asks several times (client authentication, grant and
    OIDC checks). Kept on ``g``, so nothing outlives the request or is shared between processes."""
    if not client_id or len(client_id) > 64:
        return None
    found = g.setdefault("idp_clients", {}) if has_app_context() else {}
    if client_id not in found:
        found[client_id] = db.session.scalar(sa.select(Client).where(Client.client_id == client_id))
    client = found[client_id]
    return client if client is not None and client.enabled else None


def save_authorization_code(code: str, request, login_session) -> AuthorizationCode:
    data = request.payload.data
    row = AuthorizationCode(
        code_hash=token_checksum(code),
        client_id=request.client.client_id,
        user_id=request.user.id,
        redirect_uri=request.payload.redirect_uri,
        scope=request.payload.scope or "",
        nonce=data.get("nonce"),
        code_challenge=data.get("code_challenge"),
        code_challenge_method=data.get("code_challenge_method"),
        auth_time=login_session.auth_time,
        amr=list(login_session.amr),
        acr=login_session.acr,
        sid=login_session.sid,
        expires_at=clock.now() + timedelta(seconds=_settings().tokens.authorization_code_lifetime),
    )
    db.session.add(row)
    return row


def consume_authorization_code(code: str, client: Client) -> AuthorizationCode | None:
    row = db.session.scalar(sa.select(AuthorizationCode).where(AuthorizationCode.code_hash == token_checksum(code)))
    if row is None or row.client_id != client.client_id:
        return None
    if not consume(AuthorizationCode, row.id, "consumed_at"):
        revoke_tokens(Token.authorization_code_id == row.id)  # RFC 6749 4.1.2: a reused code voids its tokens
        audit.record("authorization_code_reused", subject=row.user, client_id=row.client_id)
        return None
    return row if row.expires_at > clock.now() else None


def nonce_used(nonce: str, client_id: str) -> bool:
    """A nonce already bound to a live code of this client is a replay."""
    return db.session.scalar(
        sa.select(sa.func.count()).select_from(AuthorizationCode).where(
            AuthorizationCode.client_id == client_id,
            AuthorizationCode.nonce == nonce,
            AuthorizationCode.expires_at > clock.now(),
        )
    ) > 0


def save_token(token: dict, request) -> Token:
    """Authlib seam (server-level). A refresh keeps its grant family; a code starts a new one. Client credentials:
    no user and no login context."""
    source = request.refresh_token or request.authorization_code
    now = clock.now()
    refresh = token.get("refresh_token")
    row = Token(
        grant_id=getattr(request.refresh_token, "grant_id", None) or new_secret(16),
        client_id=request.client.client_id,
        user_id=request.user.id if request.user is not None else None,
        authorization_code_id=getattr(request.authorization_code, "id", None),
        scope=token.get("scope", ""),
        access_token_hash=token_checksum(token["access_token"]),
        refresh_token_hash=token_checksum(refresh) if refresh else None,
        issued_at=now,
        expires_at=now + timedelta(seconds=token["expires_in"]),
        refresh_expires_at=now + timedelta(seconds=refresh_lifetime(request.client)) if refresh else None,
        auth_time=source.auth_time if source else None,
        amr=list(source.amr) if source else [],
        acr=source.acr if source else None,
        sid=source.sid if source else None,
    )
    db.session.add(row)
    count_token_issued(request.payload.grant_type)
    return row


def refresh_lifetime(client: Client) -> int:
    return client.refresh_token_lifetime or _settings().tokens.refresh_token_lifetime


def find_refresh_token(value: str) -> Token | None:
    if not value or len(value) > 512:
        return None
    return db.session.scalar(sa.select(Token).options(joinedload(Token.user))
                             .where(Token.refresh_token_hash == token_checksum(value)))


def consume_refresh_token(token: Token) -> Token | None:
    if token.refresh_used_at is not None or not consume(Token, token.id, "refresh_used_at"):
        revoke_tokens(Token.grant_id == token.grant_id)  # RFC 9700 4.14.2: reuse revokes the whole family
        audit.record("refresh_token_reused", subject=token.user, client_id=token.client_id)
        return None
    if token.revoked_at is not None or token.refresh_expires_at <= clock.now():
        return None
    return token


def find_access_token(value: str) -> Token | None:
    if not value or len(value) > 512:
        return None
    return db.session.scalar(sa.select(Token).options(joinedload(Token.user), joinedload(Token.client))
                             .where(Token.access_token_hash == token_checksum(value)))


def revoke_tokens(condition) -> None:
    db.session.execute(
        sa.update(Token).where(condition, Token.revoked_at.is_(None)).values(revoked_at=clock.now()),
        execution_options={"synchronize_session": False},
    )
