"""Where a user is signed in and what holds their tokens: sessions, remembered browsers, client grants, password.

"Sign out" of a session ends it and revokes the tokens issued in it; "sign out everywhere" does so for all. A new
password ends every other session, revokes their tokens and forgets remembered browsers (ASVS 7.4.2).
"""

from __future__ import annotations

import sqlalchemy as sa

from .. import audit, clock
from ..auth import devices
from ..extensions import db
from ..models import Client, LoginSession, Token, User
from ..notices import notify
from ..oidc import logout
from ..oidc.store import revoke_tokens
from ..auth.service import set_new_password
from .service import confirm_password


def active_sessions(user: User) -> list[LoginSession]:
    now = clock.now()
    return list(db.session.scalars(
        sa.select(LoginSession).where(LoginSession.user_id == user.id, LoginSession.ended_at.is_(None),
                                      LoginSession.expires_at > now).order_by(LoginSession.last_seen_at.desc())))


def clients_with_tokens(user: User) -> list[dict]:
    """Clients holding a live refresh token (or access token) of the user, with when they last got one."""
    now = clock.now()
    rows = db.session.execute(
        sa.select(Client.name, Client.client_id, sa.func.max(Token.issued_at))
        .join(Token, Token.client_id == Client.client_id)
        .where(Token.user_id == user.id, Token.revoked_at.is_(None),
               sa.or_(Token.expires_at > now, sa.and_(Token.refresh_used_at.is_(None), Token.refresh_expires_at > now)))
        .group_by(Client.name, Client.client_id)).all()
    return [{"name": name, "client_id": client_id, "last_issued_at": issued} for name, client_id, issued in rows]


def end_sessions(user: User, session_id: int | None = None, keep: LoginSession | None = None) -> int:
    """End one session of ``user`` (or all, except ``keep``) and revoke the tokens issued in them."""
    sessions = [s for s in active_sessions(user) if (session_id is None or s.id == session_id) and s is not keep]
    logout.end_sessions(sessions)
    for login_session in sessions:
        revoke_tokens(Token.sid == login_session.sid)
    if sessions:
        audit.record("sessions_ended", subject=user, count=len(sessions))
    return len(sessions)


def change_password(login_session: LoginSession, current: str, new: str, repeated: str) -> None:
    user = login_session.user
    confirm_password(user, current)
    set_new_password(user, new, repeated)
    end_sessions(user, keep=login_session)
    revoke_tokens(sa.and_(Token.user_id == user.id, Token.sid.is_distinct_from(login_session.sid)))
    devices.forget(user)
    notify(user, "Your password was changed", "The password of your reseller login was changed. Other sessions "
                                              "were signed out and remembered browsers forgotten.")
