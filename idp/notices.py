"""Notices to a user's email address about changes to their sign-in (a second channel, NIST SP 800-63B 6.1.2).

A notice never undoes or blocks the change it reports. Through SMTP it is sent after the request's transaction
commits, from a background thread, so a slow or hanging mail server holds no database lock or connection and
delays no one; a rolled-back change sends nothing. The console sender keeps writing its outbox row inside the
transaction (it is a database write, committed or rolled back with the change).
"""

from __future__ import annotations

import logging
import threading

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session

from .delivery import DeliveryError, send_email
from .extensions import db
from .models import User

log = logging.getLogger(__name__)

QUEUE_KEY = "idp.pending_notices"


def notify(user: User, subject: str, what_happened: str) -> None:
    """Tell the user (now for the console outbox; after the commit through SMTP)."""
    settings = current_app.config["IDP_SETTINGS"]
    body = (
        f"Hello {user.display_name},\n\n{what_happened}\n\n"
        "If this was you, there is nothing to do. If it was not, sign in and review your security settings at\n"
        f"{settings.issuer}/account/security, and tell your account owner.\n"
    )
    if settings.email.sender == "console":
        send_email(user.email, subject, body)
        return
    queue = db.session.info.setdefault(QUEUE_KEY, (current_app._get_current_object(), []))
    queue[1].append((user.id, user.email, subject, body))


@sa.event.listens_for(Session, "after_commit")
def _send_queued(session) -> None:
    queue = session.info.pop(QUEUE_KEY, None)
    if queue:
        threading.Thread(target=_send, args=queue, name="notices", daemon=True).start()


@sa.event.listens_for(Session, "after_rollback")
def _drop_queued(session) -> None:
    session.info.pop(QUEUE_KEY, None)


def _send(app, notices) -> None:
    """In the app that queued them: ``send_email`` uses its configured sender and counts in its metrics."""
    with app.app_context():
        for user_id, to, subject, body in notices:
            try:
                send_email(to, subject, body)
            except DeliveryError as exc:
                log.warning("notice %r to user %s not sent: %s", subject, user_id, exc)
            except Exception:  # a background thread must not die silently
                log.exception("notice %r to user %s not sent", subject, user_id)
