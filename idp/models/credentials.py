"""Second factors: the authenticator app (TOTP), SMS phones and their codes, and recovery codes.

TOTP secrets and phone numbers are encrypted at rest (security/crypto.py); SMS and recovery codes are stored hashed;
WebAuthn credentials hold only public values (the public key, id, counter).
Single use is enforced by atomic updates (see auth/methods).
"""

from __future__ import annotations

from datetime import datetime
from typing import Optional

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .. import clock
from ..extensions import db


class TotpCredential(db.Model):
    """An authenticator app. ``confirmed_at`` None means a pending enrolment that does nothing yet."""

    __tablename__ = "totp_credential"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    secret_encrypted: Mapped[str] = mapped_column(sa.String(300))
    created_at: Mapped[datetime] = mapped_column(default=clock.default_now)
    confirmed_at: Mapped[Optional[datetime]]
    #: RFC 6238 5.2: the newest time step accepted; codes of this step or older are refused
    last_used_step: Mapped[Optional[int]] = mapped_column(sa.BigInteger)
    last_used_at: Mapped[Optional[datetime]]


class SmsPhone(db.Model):
    __tablename__ = "sms_phone"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    number_encrypted: Mapped[str] = mapped_column(sa.String(300))
    #: a masked form safe to show ("+44 •••• •••789")
    number_hint: Mapped[str] = mapped_column(sa.String(40))
    created_at: Mapped[datetime] = mapped_column(default=clock.default_now)
    confirmed_at: Mapped[Optional[datetime]]
    last_used_at: Mapped[Optional[datetime]]


class SmsCode(db.Model):
    """One SMS code, bound to the transaction that asked for it (a login flow or an enrolment)."""

    __tablename__ = "sms_code"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    phone_id: Mapped[int] = mapped_column(sa.ForeignKey("sms_phone.id", ondelete="CASCADE"))
    #: SHA-256 of the value that names the transaction (the login flow id, or the enrolment)
    binding: Mapped[str] = mapped_column(sa.String(64), index=True)
    code_hash: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(default=clock.default_now)
    expires_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(default=0)
    consumed_at: Mapped[Optional[datetime]]


class RecoveryCode(db.Model):
    """One code of a recovery set. ``lookup`` is a short, non-secret prefix so a check hashes one candidate."""

    __tablename__ = "recovery_code"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    lookup: Mapped[str] = mapped_column(sa.String(8))
    code_hash: Mapped[str] = mapped_column(sa.String(255))
    created_at: Mapped[datetime] = mapped_column(default=clock.default_now)
    used_at: Mapped[Optional[datetime]]


class WebauthnCredential(db.Model):
    """A security key or passkey (WebAuthn public-key credential). Nothing here is secret: the private key never
    leaves the authenticator; the public key, id and counter are public values whose integrity the database keeps."""

    __tablename__ = "webauthn_credential"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    #: base64url of the credential id (at most 1023 bytes, WebAuthn 5.1)
    credential_id: Mapped[str] = mapped_column(sa.String(1400), unique=True)
    #: base64url of the COSE public key
    public_key: Mapped[str] = mapped_column(sa.String(2000))
    #: base64url of the user handle the authenticator keeps with a discoverable credential (random, per user)
    user_handle: Mapped[str] = mapped_column(sa.String(100), index=True)
    name: Mapped[str] = mapped_column(sa.String(64))
    #: WebAuthn 6.1.1: the newest signature counter seen; a value that does not grow may mean a cloned key
    sign_count: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    aaguid: Mapped[str] = mapped_column(sa.String(36))
    attestation_format: Mapped[str] = mapped_column(sa.String(32))
    transports: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    #: the BE flag at registration: a multi-device (synced) passkey whose key may leave the hardware (amr "swk")
    backup_eligible: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    created_at: Mapped[datetime] = mapped_column(default=clock.default_now)
    last_used_at: Mapped[Optional[datetime]]
    user: Mapped["User"] = relationship()  # noqa: F821  (models/account.py)


class WebauthnChallenge(db.Model):
    """One WebAuthn challenge: bound to the transaction that asked for it, single-use, short-lived.

    ``binding`` names the transaction: ``login:<flow id>`` (second factor), ``browser:<hash>`` (passkey sign-in,
    the browser's flow-cookie binding) or ``enrol:<login session id>`` (adding a key)."""

    __tablename__ = "webauthn_challenge"
    id: Mapped[int] = mapped_column(primary_key=True)
    #: base64url of 32 random bytes, as the browser echoes it in clientDataJSON
    challenge: Mapped[str] = mapped_column(sa.String(64), unique=True)
    purpose: Mapped[str] = mapped_column(sa.String(20))
    binding: Mapped[str] = mapped_column(sa.String(100))
    user_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    #: the name the user gave the key being added
    label: Mapped[Optional[str]] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(default=clock.default_now)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    consumed_at: Mapped[Optional[datetime]]
