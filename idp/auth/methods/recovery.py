"""Recovery codes: 10 per set, 12 characters (60 bits) shown as ``abcd-efgh-jkmn``, each usable once.

Stored with argon2id (under 112 bits, NIST SP 800-63B 5.1.2.2 wants a salted, costly hash). The first two
characters are kept in clear as a lookup prefix, so a check hashes one candidate; 50 secret bits remain.
A new set voids the old one.
"""

from __future__ import annotations

import secrets
from typing import ClassVar

import sqlalchemy as sa
from flask import current_app

from ... import clock
from ...extensions import db
from ...models import LoginFlow, RecoveryCode, User
from .base import VerifyResult

CODE_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"  # 32 symbols: 5 bits each, no l/0/1/o confusion
CODE_LENGTH = 12
LOOKUP_LENGTH = 2
SET_SIZE = 10


def _passwords():
    return current_app.extensions["idp.passwords"]


def normalize(code: str) -> str:
    return "".join(ch for ch in (code or "").lower() if ch in CODE_ALPHABET)[:CODE_LENGTH + 4]


def display(code: str) -> str:
    return "-".join(code[i:i + 4] for i in range(0, len(code), 4))


def new_set(user: User) -> list[str]:
    """Void the user's codes and make a new set; returns the codes for display, once."""
    db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = ["".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH)) for _ in range(SET_SIZE)]
    for code in codes:
        db.session.add(RecoveryCode(user_id=user.id, lookup=code[:LOOKUP_LENGTH], code_hash=_passwords().hash(code)))
    return [display(c) for c in codes]


def void_all(user: User) -> None:
    db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))


def remaining(user: User) -> int:
    return db.session.scalar(
        sa.select(sa.func.count()).select_from(RecoveryCode).where(RecoveryCode.user_id == user.id,
                                                                   RecoveryCode.used_at.is_(None))
    )


def consume(user: User, code: str) -> bool:
    """Use one code; True for exactly one caller, however many race with the same code."""
    code = normalize(code)
    if len(code) != CODE_LENGTH:
        _passwords().verify(None, code)  # same cost as a real check
        return False
    candidates = db.session.scalars(
        sa.select(RecoveryCode).where(RecoveryCode.user_id == user.id, RecoveryCode.lookup == code[:LOOKUP_LENGTH],
                                      RecoveryCode.used_at.is_(None))
    ).all()
    for row in candidates:
        if _passwords().verify(row.code_hash, code):
            return db.session.execute(
                sa.update(RecoveryCode).where(RecoveryCode.id == row.id, RecoveryCode.used_at.is_(None))
                .values(used_at=clock.now()),
                execution_options={"synchronize_session": False},
            ).rowcount == 1
    if not candidates:
        _passwords().verify(None, code)
    return False


class RecoveryCodes:
    id: ClassVar[str] = "recovery"
    label: ClassVar[str] = "Recovery code"
    amr: ClassVar[tuple[str, ...]] = ("recovery",)

    def enrolled_condition(self, user_id) -> sa.ColumnElement[bool]:
        return sa.exists().where(RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None))

    def start(self, user: User, flow: LoginFlow) -> str | None:
        return "Enter one of the recovery codes you printed or saved. Each code works once."

    def verify(self, user: User, flow: LoginFlow, code: str) -> VerifyResult:
        if not consume(user, code):
            return VerifyResult(False)
        left = remaining(user)
        return VerifyResult(True, note=f"You used a recovery code; {left} left. Please review your sign-in methods.")
