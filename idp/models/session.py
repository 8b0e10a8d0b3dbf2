"""Server-side state of a browser: the SSO login session and the authorization request waiting for the user.

The browser holds only opaque random values; the tables hold their SHA-256, so a database read does not give
anyone a usable cookie.
"""

from __future__ import annotations

from datetime import datetime
from typing import Optional

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .. import clock
from ..extensions import db
from .account import User


class LoginSession(db.Model):
    __tablename__ = "login_session"
    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    #: the OIDC session id (``sid`` claim); public, unrelated to the cookie value
    sid: Mapped[str] = mapped_column(sa.String(64), unique=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    auth_time: Mapped[datetime]
    amr: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    acr: Mapped[str] = mapped_column(sa.String(100))
    created_at: Mapped[datetime] = mapped_column(default=clock.default_now)
    last_seen_at: Mapped[datetime] = mapped_column(default=clock.default_now)
    expires_at: Mapped[datetime]
    ended_at: Mapped[Optional[datetime]]
    ip: Mapped[Optional[str]] = mapped_column(sa.String(64))
    user_agent: Mapped[Optional[str]] = mapped_column(sa.String(300))
    #: set when the second factor was skipped because this browser is remembered (then ``amr`` has no ``mfa``)
    remembered_device_id: Mapped[Optional[int]] = mapped_column(
        sa.ForeignKey("remembered_device.id", ondelete="SET NULL"))
    user: Mapped[User] = relationship()


class Interaction(db.Model):
    """An authorization request parked while the user logs in or consents (node-oidc-provider's Interaction)."""

    __tablename__ = "interaction"
    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = mapped_column(sa.String(64), unique=True)
    #: SHA-256 of a random value in this browser's flow cookie: the request resumes only in the browser that made it
    browser_hash: Mapped[str] = mapped_column(sa.String(64))
    client_id: Mapped[str] = mapped_column(sa.ForeignKey("client.client_id", ondelete="CASCADE"))
    params: Mapped[dict] = mapped_column(sa.JSON)
    prompt: Mapped[str] = mapped_column(sa.String(20))
    created_at: Mapped[datetime] = mapped_column(default=clock.default_now)
    expires_at: Mapped[datetime]
    #: prompts the user has completed in this interaction ("login", "consent"), so a resume does not ask again
    fulfilled: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    completed_at: Mapped[Optional[datetime]]


class LoginFlow(db.Model):
    """A sign-in between the password and the second factor. Its id lives in the browser's signed flow cookie;
    SMS codes are bound to it, so a code sent for one sign-in does not work in another."""

    __tablename__ = "login_flow"
    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    interaction_uid: Mapped[Optional[str]] = mapped_column(sa.String(64))
    #: what the user has proved so far in this flow (RFC 8176 values)
    amr: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=clock.default_now)
    expires_at: Mapped[datetime]
    completed_at: Mapped[Optional[datetime]]
    user: Mapped[User] = relationship()


class RememberedDevice(db.Model):
    """ "Remember this device": a browser that may skip the second factor until ``expires_at``. The browser holds
    an opaque value; the table its SHA-256. A login that skipped the second factor does not claim ``mfa``."""

    __tablename__ = "remembered_device"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    user_agent: Mapped[Optional[str]] = mapped_column(sa.String(300))
    created_at: Mapped[datetime] = mapped_column(default=clock.default_now)
    last_used_at: Mapped[datetime] = mapped_column(default=clock.default_now)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[Optional[datetime]]
