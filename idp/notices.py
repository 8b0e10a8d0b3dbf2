"""Notices to a user's email address about changes to their sign-in (a second channel, NIST SP 800-63B 6.1.2)."""

from __future__ import annotations

import logging

from flask import current_app

from .delivery import DeliveryError, send_email
from .models import User

log = logging.getLogger(__name__)


def notify(user: User, subject: str, what_happened: str) -> bool:
    """Tell the user; a failed notice is logged and never undoes or blocks the change itself."""
    issuer = current_app.config["IDP_SETTINGS"].issuer
    body = (
        f"Hello {user.display_name},\n\n{what_happened}\n\n"
        "If this was you, there is nothing to do. If it was not, sign in and review your security settings at\n"
        f"{issuer}/account/security, and tell your account owner.\n"
    )
    try:
        send_email(user.email, subject, body)
        return True
    except DeliveryError as exc:
        log.warning("notice %r to user %s not sent: %s", subject, user.id, exc)
        return False
