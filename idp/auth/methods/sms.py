"""SMS codes: random 6 digits, stored as a keyed hash, bound to one transaction, valid 5 minutes, 5 tries.

Sending is throttled: an interval between two sends for the same transaction, and a cap per user per hour. A code is stored only once the
gateway accepted the message, so a failed send never counts as sent. The gateway is called between two transactions,
never inside one.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta
from typing import ClassVar

import sqlalchemy as sa
from flask import current_app

from ... import clock
from ...delivery import DeliveryError, send_sms
from ...errors import IdpError
from ...extensions import db
from ...models import LoginFlow, SmsCode, SmsPhone, User
from ...security.crypto import decrypt
from .base import VerifyResult
from .totp import normalize


class SmsNotSent(IdpError):
    status = 503
    public = "We could not send the text message just now. Try again in a moment, or use another method."


class SmsTooSoon(IdpError):
    status = 429
    public = "A code was sent a moment ago. Please wait before asking for another."


def _settings():
    return current_app.config["IDP_SETTINGS"].mfa


def _code_hash(code: str, binding: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"{binding}:{code}".encode(), hashlib.sha256).hexdigest()


def active_phone(user: User) -> SmsPhone | None:
    return db.session.scalar(sa.select(SmsPhone).where(SmsPhone.user_id == user.id, SmsPhone.confirmed_at.is_not(None)))


def send_code(user: User, phone: SmsPhone, binding: str) -> None:
    """Text a new code for the transaction ``binding``; SmsTooSoon when throttled, SmsNotSent on gateway failure."""
    settings = _settings()
    now = clock.now()
    recent = db.session.execute(
        sa.select(SmsCode.created_at, SmsCode.binding)
        .where(SmsCode.user_id == user.id, SmsCode.created_at > now - timedelta(hours=1))
    ).all()
    interval_start = now - timedelta(seconds=settings.sms_resend_interval)
    if any(created > interval_start and bound == binding for created, bound in recent):
        raise SmsTooSoon()
    if len(recent) >= settings.sms_max_per_hour:
        raise SmsTooSoon("You have asked for many codes in the last hour. Please use another method or try later.")
    code = f"{secrets.randbelow(10**6):06d}"
    number, user_id, phone_id = decrypt(phone.number_encrypted), user.id, phone.id
    # The gateway is called outside any transaction, so a slow or hanging gateway holds no database lock (on SQLite,
    # the lock of the whole database) and no pooled connection. What the request wrote so far (e.g. a pending
    # number being enrolled) is kept; the code is stored afterwards, only once the gateway took the message.
    # Nothing may be read from the database between the commit and the send (it would open a transaction again).
    db.session.commit()
    try:
        send_sms(number, f"Your reseller login code is {code}. It expires in {settings.sms_code_lifetime // 60} "
                         "minutes. Do not share it.")
    except DeliveryError as exc:
        raise SmsNotSent(detail=str(exc)) from None
    db.session.add(SmsCode(user_id=user_id, phone_id=phone_id, binding=binding, code_hash=_code_hash(code, binding),
                           created_at=now, expires_at=now + timedelta(seconds=settings.sms_code_lifetime)))


def check_code(user: User, binding: str, code: str) -> bool:
    """True for exactly one caller with the right code of the newest live code of this transaction."""
    now = clock.now()
    row = db.session.scalar(
        sa.select(SmsCode).where(SmsCode.user_id == user.id, SmsCode.binding == binding, SmsCode.consumed_at.is_(None),
                                 SmsCode.expires_at > now).order_by(SmsCode.id.desc()).limit(1)
    )
    if row is None:
        return False
    counted = db.session.execute(
        sa.update(SmsCode).where(SmsCode.id == row.id, SmsCode.attempts < _settings().sms_max_attempts,
                                 SmsCode.consumed_at.is_(None)).values(attempts=SmsCode.attempts + 1),
        execution_options={"synchronize_session": False},
    ).rowcount
    if not counted or not hmac.compare_digest(row.code_hash, _code_hash(normalize(code), binding)):
        return False
    return db.session.execute(
        sa.update(SmsCode).where(SmsCode.id == row.id, SmsCode.consumed_at.is_(None)).values(consumed_at=now),
        execution_options={"synchronize_session": False},
    ).rowcount == 1


def flow_binding(flow: LoginFlow) -> str:
    return f"login:{flow.id}"


class Sms:
    id: ClassVar[str] = "sms"
    label: ClassVar[str] = "Text message (SMS)"
    amr: ClassVar[tuple[str, ...]] = ("sms",)

    def enrolled_condition(self, user_id) -> sa.ColumnElement[bool]:
        return sa.exists().where(SmsPhone.user_id == user_id, SmsPhone.confirmed_at.is_not(None))

    def start(self, user: User, flow: LoginFlow) -> str | None:
        phone = active_phone(user)
        send_code(user, phone, flow_binding(flow))
        return f"We sent a code to {phone.number_hint}."

    def verify(self, user: User, flow: LoginFlow, code: str) -> VerifyResult:
        ok = check_code(user, flow_binding(flow), code)
        if ok:
            active_phone(user).last_used_at = clock.now()
        return VerifyResult(ok)
