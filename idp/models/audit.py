"""The audit trail: an append-only record of security events (who, to whom, what, from where)."""

from __future__ import annotations

from datetime import datetime
from typing import Optional

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from .. import clock
from ..extensions import db


class AuditEvent(db.Model):
    __tablename__ = "audit_event"
    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=clock.default_now, index=True)
    event: Mapped[str] = mapped_column(sa.String(60), index=True)
    actor_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    subject_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"), index=True)
    account_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("account.id", ondelete="SET NULL"), index=True)
    client_id: Mapped[Optional[str]] = mapped_column(sa.String(64))
    ip: Mapped[Optional[str]] = mapped_column(sa.String(64))
    user_agent: Mapped[Optional[str]] = mapped_column(sa.String(300))
    request_id: Mapped[Optional[str]] = mapped_column(sa.String(64))
    details: Mapped[dict] = mapped_column(sa.JSON, default=dict)
