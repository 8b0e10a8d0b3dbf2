"""The SSO login session: a server-side record behind an opaque cookie, renewed at every login (no fixation).

The cookie holds 256 random bits; the table holds their SHA-256. Idle and absolute lifetimes come from settings.
"""

from __future__ import annotations

from datetime import timedelta
from functools import cache

import sqlalchemy as sa
from sqlalchemy.orm import joinedload
from flask import current_app, request

from .. import clock
from ..extensions import db
from ..models import LoginSession, User
from ..security.tokens import new_secret, token_checksum

#: last_seen_at is written at most this often, so reading a page is not a database write each time
TOUCH_INTERVAL = timedelta(seconds=60)


def _settings():
    return current_app.config["IDP_SETTINGS"]


def cookie_name() -> str:
    settings = _settings()
    name = settings.session.cookie_name
    return f"__Host-{name}" if settings.issuer.startswith("https://") else name


def _state() -> dict:
    """Per-request state (kept on the request, not on ``g``, which an app context may share between requests)."""
    return request.environ.setdefault("idp.session_state", {})


def current_login_session() -> LoginSession | None:
    """The live session of this browser, or None (ended, expired, idle too long, user disabled)."""
    state = _state()
    if "login_session" not in state:
        state["login_session"] = _load(request.cookies.get(cookie_name()))
    return state["login_session"]


def _load(token: str | None) -> LoginSession | None:
    if not token or len(token) > 128:
        return None
    ls = db.session.scalar(_session_statement(), {"checksum": token_checksum(token)})
    now = clock.now()
    if ls is None or ls.ended_at is not None or ls.user.disabled:
        return None
    if now >= ls.expires_at or now >= ls.last_seen_at + timedelta(seconds=_settings().session.idle_timeout):
        return None
    if now - ls.last_seen_at >= TOUCH_INTERVAL:
        ls.last_seen_at = now
        db.session.commit()
    return ls


@cache  # built once per process (a statement is immutable; SQLAlchemy reuses its compiled form)
def _session_statement() -> sa.Select:
    """The session with its user and the user's account (the authorize policy reads both)."""
    return (sa.select(LoginSession).options(joinedload(LoginSession.user).joinedload(User.account))
            .where(LoginSession.token_hash == sa.bindparam("checksum")))


def start_login_session(user: User, amr: list[str], acr: str, remembered_device_id: int | None = None) -> LoginSession:
    """A login just succeeded: a new cookie value always (no fixation, SES-2). The same person proving more
    (step-up, enrolment, re-authentication) keeps the session and its OIDC ``sid``, so back-channel logout still
    reaches every client of it; anyone else gets a new session and the previous one ends."""
    previous = current_login_session()
    if previous is None or previous.user_id != user.id:
        end_login_session()
        previous = None
    token = new_secret(32)
    now = clock.now()
    ls = previous or LoginSession(sid=new_secret(16), user_id=user.id, created_at=now)
    ls.token_hash = token_checksum(token)
    ls.auth_time, ls.amr, ls.acr, ls.last_seen_at = now, amr, acr, now
    ls.expires_at = now + timedelta(seconds=_settings().session.lifetime)
    ls.ip, ls.user_agent = request.remote_addr, (request.user_agent.string or "")[:300]
    ls.remembered_device_id = remembered_device_id
    db.session.add(ls)
    user.last_login_at = now
    _state().update(login_session=ls, cookie=token)
    return ls


def end_login_session() -> None:
    ls = current_login_session()
    if ls is not None:
        ls.ended_at = clock.now()
    _state().update(login_session=None, cookie="")


def write_session_cookie(response):
    """after_request: set or clear the cookie when this request started or ended a session."""
    cookie = _state().get("cookie")
    if cookie is None:
        return response
    secure = _settings().issuer.startswith("https://")
    if cookie:
        response.set_cookie(cookie_name(), cookie, max_age=_settings().session.lifetime, path="/",
                            secure=secure, httponly=True, samesite="Lax")
    else:
        response.delete_cookie(cookie_name(), path="/", secure=secure, httponly=True, samesite="Lax")
    return response
