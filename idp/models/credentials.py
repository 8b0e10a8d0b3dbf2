"""Second factors: the authenticator app (TOTP), SMS phones and their codes, and recovery codes.

TOTP secrets and phone numbers are encrypted at rest (security/crypto.py); SMS and recovery codes are stored hashed.
Single use is enforced by atomic updates (see auth/methods).
"""

from __future__ import annotations

from datetime import datetime
from typing import Optional

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

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
