"""Failure counters for throttling, shared by every process through the database."""

from __future__ import annotations

from datetime import datetime
from typing import Optional

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db


class ThrottleCounter(db.Model):
    """Consecutive failures for one key ("user:7:password", "user:7:second_factor", "ip:192.0.2.1")."""

    __tablename__ = "throttle_counter"
    key: Mapped[str] = mapped_column(sa.String(120), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    last_failure_at: Mapped[Optional[datetime]]
    locked_until: Mapped[Optional[datetime]]
