"""Reseller accounts and their users: each person who works for a reseller has a login of their own."""

from __future__ import annotations

from datetime import datetime
from typing import Optional

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .. import clock
from ..extensions import db

ROLES = ("owner", "member", "admin")


class Account(db.Model):
    __tablename__ = "account"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120), unique=True)
    #: the owner requires a second factor of every user: one without is led to enrol right after the password
    require_2fa: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    created_at: Mapped[datetime] = mapped_column(default=clock.default_now)
    users: Mapped[list["User"]] = relationship(back_populates="account", passive_deletes=True)


class User(UserMixin, db.Model):
    __tablename__ = "user"
    id: Mapped[int] = mapped_column(primary_key=True)
    #: the stable, non-reassigned subject identifier published as ``sub``
    subject: Mapped[str] = mapped_column(sa.String(64), unique=True)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("account.id", ondelete="CASCADE"), index=True)
    username: Mapped[str] = mapped_column(sa.String(150), unique=True)
    email: Mapped[str] = mapped_column(sa.String(254))
    display_name: Mapped[str] = mapped_column(sa.String(200))
    role: Mapped[str] = mapped_column(sa.String(20), default="member")
    disabled: Mapped[bool] = mapped_column(default=False)
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    #: the second-factor method asked for first at login ("totp", "sms"); the most recently enabled by default
    default_method: Mapped[Optional[str]] = mapped_column(sa.String(20))
    #: an administrator set the password: the user must choose a new one at the next login
    password_change_required: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    created_at: Mapped[datetime] = mapped_column(default=clock.default_now)
    last_login_at: Mapped[Optional[datetime]]
    account: Mapped[Account] = relationship(back_populates="users")

    @property
    def is_active(self) -> bool:  # flask-login
        return not self.disabled
