""""Remember this device": a browser that passed the second factor may skip it for a while (30 days by default).

Only that browser: it holds an opaque random value in its own cookie; the table holds its SHA-256. A login that
skipped the second factor is honest about it: ``amr`` is ``["pwd"]`` (no ``mfa``/``otp``) and a client asking for
MFA with ``acr_values`` still gets the second factor asked. A password change or a 2FA reset forgets every device.
"""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask import current_app, request

from .. import audit, clock
from ..extensions import db
from ..models import RememberedDevice, User
from ..security.tokens import new_secret, token_checksum


def _settings():
    return current_app.config["IDP_SETTINGS"]


def cookie_name() -> str:
    name = _settings().session.device_cookie_name
    return f"__Host-{name}" if _settings().issuer.startswith("https://") else name


def offered(user: User) -> bool:
    return user.role != "admin" or _settings().session.remember_device_for_admins


def remember(user: User) -> RememberedDevice:
    token = new_secret(32)
    now = clock.now()
    device = RememberedDevice(user_id=user.id, token_hash=token_checksum(token), created_at=now, last_used_at=now,
                              user_agent=(request.user_agent.string or "")[:300],
                              expires_at=now + timedelta(seconds=_settings().session.remember_device_lifetime))
    db.session.add(device)
    request.environ["idp.device_cookie"] = token
    audit.record("device_remembered", subject=user)
    return device


def remembered_device(user: User) -> RememberedDevice | None:
    """This browser's live remembered device for ``user``, or None."""
    token = request.cookies.get(cookie_name())
    if not token or len(token) > 128 or not offered(user):
        return None
    device = db.session.scalar(sa.select(RememberedDevice).where(RememberedDevice.token_hash == token_checksum(token)))
    now = clock.now()
    if device is None or device.user_id != user.id or device.revoked_at is not None or device.expires_at <= now:
        return None
    device.last_used_at = now
    return device


def devices_of(user: User) -> list[RememberedDevice]:
    return list(db.session.scalars(
        sa.select(RememberedDevice).where(RememberedDevice.user_id == user.id, RememberedDevice.revoked_at.is_(None),
                                          RememberedDevice.expires_at > clock.now())
        .order_by(RememberedDevice.last_used_at.desc())))


def forget(user: User, device_id: int | None = None) -> int:
    """Forget one device of ``user`` (or all of them); returns how many."""
    condition = [RememberedDevice.user_id == user.id, RememberedDevice.revoked_at.is_(None)]
    if device_id is not None:
        condition.append(RememberedDevice.id == device_id)
    count = db.session.execute(sa.update(RememberedDevice).where(*condition).values(revoked_at=clock.now()),
                               execution_options={"synchronize_session": False}).rowcount
    if count:
        audit.record("devices_forgotten", subject=user, count=count)
    return count


def write_device_cookie(response):
    """after_request: hand a newly remembered browser its cookie."""
    token = request.environ.get("idp.device_cookie")
    if token:
        response.set_cookie(cookie_name(), token, max_age=_settings().session.remember_device_lifetime, path="/",
                            secure=_settings().issuer.startswith("https://"), httponly=True, samesite="Lax")
    return response
