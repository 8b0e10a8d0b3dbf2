"""What the console senders have in common: log the message and keep it in the outbox table.

The row joins the caller's transaction (the request commits it), so a message that was "sent" by a request that
then failed does not appear at /dev/outbox either.
"""

from __future__ import annotations

import logging

from ..extensions import db
from ..models.delivery import OutboxMessage

log = logging.getLogger("idp.delivery")

SUBJECT_MAX = OutboxMessage.__table__.c.subject.type.length


def record(channel: str, recipient: str, body: str, *, subject: str = "", shown_as: str | None = None) -> None:
    """Log "<CHANNEL> to <shown_as>: ..." at INFO and add an OutboxMessage to ``db.session`` (not committed)."""
    text = f"{subject}\n{body}" if subject else body
    log.info("%s to %s: %s", channel.upper(), recipient if shown_as is None else shown_as, text)
    db.session.add(OutboxMessage(channel=channel, recipient=recipient, subject=subject[:SUBJECT_MAX], body=body))
