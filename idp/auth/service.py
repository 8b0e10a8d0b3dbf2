"""Checking a username and password: one message for every failure, argon2id re-hash when parameters change."""

from __future__ import annotations

import logging

import sqlalchemy as sa
from flask import current_app

from ..errors import LoginFailed
from ..extensions import db
from ..models import User

log = logging.getLogger(__name__)

MAX_USERNAME = 150
MAX_PASSWORD = 1024


def authenticate_password(username: str, password: str) -> User:
    """The user these credentials belong to; LoginFailed (same message) for unknown, wrong or disabled."""
    passwords = current_app.extensions["idp.passwords"]
    username = (username or "").strip()
    if not username or not password or len(username) > MAX_USERNAME or len(password) > MAX_PASSWORD:
        passwords.verify(None, password or "")  # same cost as a real check
        raise LoginFailed(detail="empty or oversized credentials")
    user = db.session.scalar(sa.select(User).where(User.username == username))
    if not passwords.verify(user.password_hash if user else None, password):
        raise LoginFailed(detail=f"wrong password or unknown user {username!r}")
    if user.disabled:
        raise LoginFailed(detail=f"user {username!r} is disabled")
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash(password)
        log.info("re-hashed the password of user %s with the current argon2id parameters", user.id)
    return user
