"""The sign-in flow between the password and the second factor, and what a finished login says (amr, acr).

After the password, a user with a second factor gets a LoginFlow (its id in the signed flow cookie), not a
session; only the second factor turns it into a LoginSession, with a new session id (no fixation).
"""

from __future__ import annotations

from datetime import timedelta
from functools import cache

import sqlalchemy as sa
from sqlalchemy.orm import joinedload
from flask import current_app, session

from .. import clock
from ..extensions import db
from ..models import LoginFlow, LoginSession, User
from ..oidc.claims import ACR_MFA, ACR_PASSWORD
from ..security.tokens import new_secret, token_checksum
from .methods import ENROLLABLE, METHODS
from .sessions import start_login_session

FLOW_KEY = "login_flow"


def enrolled_methods(user: User) -> list[str]:
    """The user's second-factor methods that can be chosen at login, in display order."""
    return [m for m in _usable_methods(user) if m in ENROLLABLE]


def has_second_factor(user: User) -> bool:
    return bool(enrolled_methods(user))


def default_method(user: User, enrolled: list[str] | None = None) -> str | None:
    """The user's chosen method if still enrolled, else the first one; ``enrolled`` saves looking them up again
    (``login_methods``' list will do: recovery comes last and is never a default)."""
    enrolled = [m for m in (enrolled if enrolled is not None else enrolled_methods(user)) if m in ENROLLABLE]
    if user.default_method in enrolled:
        return user.default_method
    return enrolled[0] if enrolled else None


def login_methods(user: User) -> list[str]:
    """Everything that can complete the second step: enrolled methods, then recovery codes if any are left."""
    methods = _usable_methods(user)
    return methods if any(m in ENROLLABLE for m in methods) else []  # recovery codes alone are no second factor


def _usable_methods(user: User) -> list[str]:
    """Every method the user could sign in with now (recovery last), asked in one query."""
    usable = db.session.execute(_usable_methods_statement(), {"user_id": user.id}).one()
    return [method_id for method_id, yes in zip(LOGIN_ORDER, usable) if yes]


LOGIN_ORDER = (*ENROLLABLE, "recovery")


@cache  # built once per process (a statement is immutable; SQLAlchemy reuses its compiled form)
def _usable_methods_statement() -> sa.Select:
    user_id = sa.bindparam("user_id")
    return sa.select(*(METHODS[m].enrolled_condition(user_id).label(m) for m in LOGIN_ORDER))


def start_flow(user: User, interaction_uid: str | None, amr: list[str]) -> LoginFlow:
    token = new_secret(24)
    lifetime = current_app.config["IDP_SETTINGS"].tokens.interaction_lifetime
    flow = LoginFlow(token_hash=token_checksum(token), user_id=user.id, interaction_uid=interaction_uid, amr=amr,
                     expires_at=clock.now() + timedelta(seconds=lifetime))
    db.session.add(flow)
    db.session.flush()
    session[FLOW_KEY] = token
    return flow


def current_flow() -> LoginFlow | None:
    token = session.get(FLOW_KEY)
    if not token:
        return None
    flow = db.session.scalar(_flow_statement(), {"checksum": token_checksum(token)})
    if flow is None or flow.completed_at is not None or flow.expires_at <= clock.now() or flow.user.disabled:
        return None
    return flow


@cache
def _flow_statement() -> sa.Select:
    return (sa.select(LoginFlow).options(joinedload(LoginFlow.user))
            .where(LoginFlow.token_hash == sa.bindparam("checksum")))


def complete_flow(flow: LoginFlow, method_id: str, method_amr: tuple[str, ...] | None = None) -> LoginSession:
    """The second factor is done: a new session that says both factors were used (RFC 8176 ``mfa``)."""
    flow.completed_at = clock.now()
    session.pop(FLOW_KEY, None)
    amr = list(dict.fromkeys([*flow.amr, *(method_amr or METHODS[method_id].amr), "mfa"]))
    return start_login_session(flow.user, amr=amr, acr=ACR_MFA)


def is_passwordless(flow: LoginFlow) -> bool:
    """The flow began with a passkey, which proved two factors (it waits only for a new password)."""
    return "mfa" in flow.amr


def complete_passwordless_flow(flow: LoginFlow) -> LoginSession:
    flow.completed_at = clock.now()
    session.pop(FLOW_KEY, None)
    return start_login_session(flow.user, amr=list(flow.amr), acr=ACR_MFA)


def acr_for(amr: list[str]) -> str:
    return ACR_MFA if "mfa" in amr else ACR_PASSWORD
