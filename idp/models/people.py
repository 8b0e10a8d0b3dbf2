"""One-time set-up links: how a person the account owner added chooses their own password.

The link carries 256 random bits; the table keeps their SHA-256. A link works once (``used_at`` is set with one
atomic ``UPDATE ... WHERE used_at IS NULL``) and for 72 hours.
"""

from __future__ import annotations

from datetime import datetime
from typing import Optional

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .. import clock
from ..extensions import db
from .account import User


class SetupToken(db.Model):
    __tablename__ = "setup_token"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)  # sha256; the link is never stored
    created_at: Mapped[datetime] = mapped_column(default=clock.default_now)
    expires_at: Mapped[datetime]
    used_at: Mapped[Optional[datetime]]
    user: Mapped[User] = relationship()
