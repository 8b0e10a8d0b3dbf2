"""The authenticator app: RFC 6238 TOTP, SHA-1, 6 digits, 30 s steps, one step of drift either side.

A code is accepted once: the newest accepted time step is stored per credential and a code of that step or an
older one is refused (RFC 6238 5.2), in one atomic UPDATE so that two racing requests have one winner.
"""

from __future__ import annotations

import hmac
import re
from typing import ClassVar

import pyotp
import sqlalchemy as sa

from ... import audit, clock
from ...extensions import db
from ...models import LoginFlow, TotpCredential, User
from ...security.crypto import decrypt
from .base import VerifyResult

STEP = 30
DRIFT_STEPS = 1
CODE_RE = re.compile(r"^\d{6}$")


def active_credential(user: User) -> TotpCredential | None:
    return db.session.scalar(
        sa.select(TotpCredential).where(TotpCredential.user_id == user.id, TotpCredential.confirmed_at.is_not(None))
    )


def matching_step(secret: str, code: str) -> int | None:
    """The time step within the drift window whose code equals ``code``, by the server's clock only."""
    code = normalize(code)
    if not CODE_RE.match(code):
        return None
    totp = pyotp.TOTP(secret)
    current = int(clock.now().timestamp()) // STEP
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.at(step * STEP), code):
            return step
    return None


def use_step(credential: TotpCredential, step: int) -> bool:
    """Record ``step`` as used; True for exactly one caller, and only if no equal or newer step was used."""
    result = db.session.execute(
        sa.update(TotpCredential)
        .where(TotpCredential.id == credential.id,
               sa.or_(TotpCredential.last_used_step.is_(None), TotpCredential.last_used_step < step))
        .values(last_used_step=step, last_used_at=clock.now()),
        execution_options={"synchronize_session": False},
    )
    return result.rowcount == 1


def normalize(code: str) -> str:
    return (code or "").replace(" ", "").replace("-", "").strip()[:12]


class Totp:
    id: ClassVar[str] = "totp"
    label: ClassVar[str] = "Authenticator app"
    amr: ClassVar[tuple[str, ...]] = ("otp",)

    def enrolled_condition(self, user_id) -> sa.ColumnElement[bool]:
        return sa.exists().where(TotpCredential.user_id == user_id, TotpCredential.confirmed_at.is_not(None))

    def start(self, user: User, flow: LoginFlow) -> str | None:
        return "Enter the six-digit code from your authenticator app."

    def verify(self, user: User, flow: LoginFlow, code: str) -> VerifyResult:
        credential = active_credential(user)
        if credential is None:
            return VerifyResult(False)
        step = matching_step(decrypt(credential.secret_encrypted), code)
        if step is None:
            return VerifyResult(False)
        if not use_step(credential, step):
            audit.record("totp_replay_refused", subject=user)  # OTP-5: someone may have used the code first
            return VerifyResult(False)
        return VerifyResult(True)
