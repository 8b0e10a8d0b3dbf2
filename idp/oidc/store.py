"""Storage behind the Authlib seams: codes, tokens and nonces, with single use enforced by the database.

``consume`` is the one shape of single use (node-oidc-provider's ``consumable``):
``UPDATE ... SET <column> = now WHERE id = :id AND <column> IS NULL`` and a check that exactly one row changed.
"""

from __future__ import annotations

from datetime import timedelta
from functools import cache

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


def consume(model, row_id: int, column: str, *also: str) -> bool:
    """Mark a single-use row used (and set the ``also`` columns to the same time); True for exactly one caller,
    however many race."""
    now = clock.now()
    result = db.session.execute(_consume_statement(model, column, also), {"row_id": row_id, "now": now})
    return result.rowcount == 1


@cache  # hot statements are built once per process: they are immutable, and SQLAlchemy reuses their compiled form
def _consume_statement(model, column: str, also: tuple[str, ...]) -> sa.Update:
    """On the table (Core): loaded objects are not synchronised, and the ORM's bulk-UPDATE path costs more than
    the statement."""
    table, now = model.__table__, sa.bindparam("now")
    return (sa.update(table).where(table.c.id == sa.bindparam("row_id"), table.c[column].is_(None))
            .values({name: now for name in (column, *also)}))


def active_user(user: User | None) -> User | None:
    return user if user is not None and not user.disabled else None


def query_client(client_id: str) -> Client | None:
    """The enabled client, read once per request: Authlib asks several times (client authentication, grant and
    OIDC checks). Kept on ``g``, so nothing outlives the request or is shared between processes."""
    if not client_id or len(client_id) > 64:
        return None
    found = g.setdefault("idp_clients", {}) if has_app_context() else {}
    if client_id not in found:
        found[client_id] = db.session.scalar(_client_statement(), {"client_id": client_id})
    client = found[client_id]
    return client if client is not None and client.enabled else None


@cache
def _client_statement() -> sa.Select:
    return sa.select(Client).where(Client.client_id == sa.bindparam("client_id"))


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
    row = db.session.scalar(_code_statement(), {"checksum": token_checksum(code)})
    if row is None or row.client_id != client.client_id:
        return None
    if not consume(AuthorizationCode, row.id, "consumed_at"):
        revoke_tokens(Token.authorization_code_id == row.id)  # RFC 6749 4.1.2: a reused code voids its tokens
        audit.record("authorization_code_reused", subject=row.user, client_id=row.client_id)
        return None
    return row if row.expires_at > clock.now() else None


@cache
def _code_statement() -> sa.Select:
    return (sa.select(AuthorizationCode).options(joinedload(AuthorizationCode.user))
            .where(AuthorizationCode.code_hash == sa.bindparam("checksum")))


def nonce_used(nonce: str, client_id: str) -> bool:
    """A nonce already bound to a live code of this client is a replay. Asked once per request (Authlib validates
    the request again when it issues the code; nothing this request wrote can change the answer)."""
    answers = g.setdefault("idp_nonces", {})
    if (client_id, nonce) not in answers:
        answers[client_id, nonce] = db.session.scalar(
            _nonce_statement(), {"client_id": client_id, "nonce": nonce, "now": clock.now()}) is not None
    return answers[client_id, nonce]


@cache
def _nonce_statement() -> sa.Select:
    return sa.select(AuthorizationCode.id).where(
        AuthorizationCode.client_id == sa.bindparam("client_id"),
        AuthorizationCode.nonce == sa.bindparam("nonce"),
        AuthorizationCode.expires_at > sa.bindparam("now"),
    ).limit(1)


def save_token(token: dict, request) -> None:
    """Authlib seam (server-level). A refresh keeps its grant family; a code starts a new one. Client credentials:
    no user and no login context. One INSERT, without loading the row back (nothing in the request reads it)."""
    source = request.refresh_token or request.authorization_code
    now = clock.now()
    refresh = token.get("refresh_token")
    row = dict(
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
    db.session.execute(_insert_token_statement(), row)
    count_token_issued(request.payload.grant_type)


@cache
def _insert_token_statement() -> sa.Insert:
    return sa.insert(Token.__table__)  # a Core insert: the ORM's bulk path costs more than the row


def refresh_lifetime(client: Client) -> int:
    return client.refresh_token_lifetime or _settings().tokens.refresh_token_lifetime


def find_refresh_token(value: str) -> Token | None:
    if not value or len(value) > 512:
        return None
    return db.session.scalar(_refresh_token_statement(), {"checksum": token_checksum(value)})


@cache
def _refresh_token_statement() -> sa.Select:
    return (sa.select(Token).options(joinedload(Token.user))
            .where(Token.refresh_token_hash == sa.bindparam("checksum")))


def consume_refresh_token(token: Token) -> Token | None:
    """Uses the refresh token once: the same UPDATE also ends its access token (rotation replaces both)."""
    if token.refresh_used_at is not None or not consume(Token, token.id, "refresh_used_at", "revoked_at"):
        revoke_tokens(Token.grant_id == token.grant_id)  # RFC 9700 4.14.2: reuse revokes the whole family
        audit.record("refresh_token_reused", subject=token.user, client_id=token.client_id)
        return None
    if token.revoked_at is not None or token.refresh_expires_at <= clock.now():
        return None
    return token


def find_access_token(value: str) -> Token | None:
    if not value or len(value) > 512:
        return None
    return db.session.scalar(_access_token_statement(), {"checksum": token_checksum(value)})


@cache
def _access_token_statement() -> sa.Select:
    return (sa.select(Token).options(joinedload(Token.user), joinedload(Token.client))
            .where(Token.access_token_hash == sa.bindparam("checksum")))


def revoke_tokens(condition) -> None:
    db.session.execute(
        sa.update(Token).where(condition, Token.revoked_at.is_(None)).values(revoked_at=clock.now()),
        execution_options={"synchronize_session": False},
    )
