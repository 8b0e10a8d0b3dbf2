"""OAuth clients, authorization codes, tokens and consents, implementing Authlib's model protocols.

Secrets and tokens are never stored: client secrets as a keyed SHA-256, codes and tokens as SHA-256 checksums that
are also the lookup key. Single use is enforced by the storage (see ``consume``), not by a read-then-write.
"""

from __future__ import annotations

from datetime import datetime
from typing import Optional

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .. import clock
from ..extensions import db
from ..security.tokens import check_client_secret
from .account import User


class Client(db.Model):
    __tablename__ = "client"
    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(sa.String(64), unique=True)
    client_secret_hash: Mapped[Optional[str]] = mapped_column(sa.String(128))
    name: Mapped[str] = mapped_column(sa.String(200))
    redirect_uris: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    post_logout_redirect_uris: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    grant_types: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    response_types: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    scope: Mapped[str] = mapped_column(sa.String(500))
    token_endpoint_auth_method: Mapped[str] = mapped_column(sa.String(40))
    id_token_signed_response_alg: Mapped[str] = mapped_column(sa.String(10), default="RS256")
    trusted: Mapped[bool] = mapped_column(default=False)
    enabled: Mapped[bool] = mapped_column(default=True)
    #: OIDC Back-Channel Logout 1.0: where logout tokens are POSTed when a session this client took part in ends
    backchannel_logout_uri: Mapped[Optional[str]] = mapped_column(sa.String(2000))
    #: "requires 2FA": a user without a second factor is sent to enrol before this client gets a code
    requires_2fa: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    #: after a secret rotation the old secret keeps working until this time (grace period), then is void
    previous_secret_hash: Mapped[Optional[str]] = mapped_column(sa.String(128))
    previous_secret_expires_at: Mapped[Optional[datetime]]
    #: private_key_jwt (RFC 7523): the client's public keys, inline or by URL
    jwks: Mapped[Optional[dict]] = mapped_column(sa.JSON)
    jwks_uri: Mapped[Optional[str]] = mapped_column(sa.String(2000))
    #: RFC 7592: SHA-256 of the registration access token that manages this client, when registered by API
    registration_access_token_hash: Mapped[Optional[str]] = mapped_column(sa.String(64), unique=True)
    #: per-client lifetimes in seconds; None means the configured default
    access_token_lifetime: Mapped[Optional[int]]
    id_token_lifetime: Mapped[Optional[int]]
    refresh_token_lifetime: Mapped[Optional[int]]
    created_at: Mapped[datetime] = mapped_column(default=clock.default_now)

    @property
    def is_public(self) -> bool:
        return self.token_endpoint_auth_method == "none"

    @property
    def client_metadata(self) -> dict:
        """Authlib reads a few registration fields from here (e.g. userinfo signing: we sign none)."""
        return {"id_token_signed_response_alg": self.id_token_signed_response_alg}

    # Authlib ClientMixin protocol
    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> Optional[str]:
        # RFC 6749 3.1.2.3: with several registered URIs the request must name one.
        return self.redirect_uris[0] if len(self.redirect_uris) == 1 else None

    def get_allowed_scope(self, scope: str) -> str:
        if not scope:
            return ""
        allowed = set(self.scope.split())
        return " ".join(s for s in scope.split() if s in allowed)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        # RFC 9700 4.1.3: exact string comparison, nothing else.
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        """The current secret, or the previous one during its rotation grace period."""
        if self.client_secret_hash and check_client_secret(client_secret, self.client_secret_hash):
            return True
        return (self.previous_secret_hash is not None and self.previous_secret_expires_at is not None
                and self.previous_secret_expires_at > clock.now()
                and check_client_secret(client_secret, self.previous_secret_hash))

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == self.token_endpoint_auth_method

    def check_response_type(self, response_type: str) -> bool:
        return response_type in self.response_types

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in self.grant_types


class Consent(db.Model):
    """Scopes a user has granted to a client that is not trusted (first-party clients skip consent)."""

    __tablename__ = "consent"
    __table_args__ = (sa.UniqueConstraint("user_id", "client_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"))
    client_id: Mapped[str] = mapped_column(sa.ForeignKey("client.client_id", ondelete="CASCADE"))
    scope: Mapped[str] = mapped_column(sa.String(500))
    created_at: Mapped[datetime] = mapped_column(default=clock.default_now)


class _AuthenticationContext:
    """What the ID token says about the login: when, how, at which level (copied from the LoginSession)."""

    auth_time: Mapped[datetime]
    amr: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    acr: Mapped[str] = mapped_column(sa.String(100))
    sid: Mapped[Optional[str]] = mapped_column(sa.String(64))

    def get_auth_time(self) -> int:
        return int(self.auth_time.timestamp())

    def get_amr(self) -> list[str]:
        return list(self.amr)

    def get_acr(self) -> str:
        return self.acr


class AuthorizationCode(_AuthenticationContext, db.Model):
    __tablename__ = "authorization_code"
    #: the nonce replay check at every authorize (``store.nonce_used``)
    __table_args__ = (sa.Index("ix_authorization_code_client_id_nonce", "client_id", "nonce"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    code_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    client_id: Mapped[str] = mapped_column(sa.ForeignKey("client.client_id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"))
    redirect_uri: Mapped[str] = mapped_column(sa.String(2000))
    scope: Mapped[str] = mapped_column(sa.String(500))
    nonce: Mapped[Optional[str]] = mapped_column(sa.String(255))
    code_challenge: Mapped[Optional[str]] = mapped_column(sa.String(128))
    code_challenge_method: Mapped[Optional[str]] = mapped_column(sa.String(10))
    created_at: Mapped[datetime] = mapped_column(default=clock.default_now)
    expires_at: Mapped[datetime]
    consumed_at: Mapped[Optional[datetime]]
    user: Mapped[User] = relationship()

    # Authlib AuthorizationCodeMixin protocol
    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> Optional[str]:
        return self.nonce


class TokenChecks:
    """Authlib's TokenMixin checks on ``scope``, ``issued_at``, ``expires_at`` and ``revoked_at``: shared by the stored
    token and userinfo's narrow view of it (``oidc.bearer.BearerToken``)."""

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return int((self.expires_at - self.issued_at).total_seconds())

    def is_expired(self) -> bool:
        return clock.now() >= self.expires_at

    def is_revoked(self) -> bool:
        return self.revoked_at is not None


class Token(TokenChecks, _AuthenticationContext, db.Model):
    """One issuance: an access token and maybe a refresh token. Rotation makes a new row in the same ``grant_id``.

    A client-credentials token has no user and no login behind it: ``user_id``, ``auth_time`` and ``acr`` are None.
    """

    __tablename__ = "token"
    #: sign-out revokes the tokens of a session by ``sid`` (``revoke_tokens``, back-channel logout)
    __table_args__ = (sa.Index("ix_token_sid", "sid"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    grant_id: Mapped[str] = mapped_column(sa.String(64), index=True)
    client_id: Mapped[str] = mapped_column(sa.ForeignKey("client.client_id", ondelete="CASCADE"), index=True)
    user_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    authorization_code_id: Mapped[Optional[int]] = mapped_column(
        sa.ForeignKey("authorization_code.id", ondelete="SET NULL"), index=True
    )
    scope: Mapped[str] = mapped_column(sa.String(500))
    access_token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    refresh_token_hash: Mapped[Optional[str]] = mapped_column(sa.String(64), unique=True)
    issued_at: Mapped[datetime] = mapped_column(default=clock.default_now)
    expires_at: Mapped[datetime]
    refresh_expires_at: Mapped[Optional[datetime]]
    refresh_used_at: Mapped[Optional[datetime]]
    revoked_at: Mapped[Optional[datetime]]
    auth_time: Mapped[Optional[datetime]] = mapped_column(nullable=True)
    acr: Mapped[Optional[str]] = mapped_column(sa.String(100))
    user: Mapped[Optional[User]] = relationship()
    client: Mapped[Client] = relationship()

    # Authlib TokenMixin protocol (the rest in TokenChecks)
    def check_client(self, client: Client) -> bool:
        return self.client_id == client.client_id

    def get_user(self) -> Optional[User]:
        return self.user

    def get_client(self) -> Client:
        return self.client


class RegistrationToken(db.Model):
    """An initial access token an administrator issues for Dynamic Client Registration (RFC 7591 3)."""

    __tablename__ = "registration_token"
    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=clock.default_now)
    expires_at: Mapped[datetime]
    max_uses: Mapped[int] = mapped_column(default=1)
    uses: Mapped[int] = mapped_column(default=0)
    revoked_at: Mapped[Optional[datetime]]
    created_by_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    #: what the administrator said the token is for (shown in lists; the token itself never is)
    note: Mapped[Optional[str]] = mapped_column(sa.String(200))


class UsedClientAssertion(db.Model):
    """The ``jti`` of a client assertion (RFC 7523 3, private_key_jwt) already accepted, until its ``exp``.

    The unique key makes single use a property of the database: of two processes inserting the same pair, one fails.
    """

    __tablename__ = "used_client_assertion"
    __table_args__ = (sa.UniqueConstraint("client_id", "jti"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(sa.ForeignKey("client.client_id", ondelete="CASCADE"))
    jti: Mapped[str] = mapped_column(sa.String(255))
    expires_at: Mapped[datetime] = mapped_column(index=True)
