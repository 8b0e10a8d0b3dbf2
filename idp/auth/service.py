"""Checking what a person presents at login: the password, then a second factor; throttled and audited.

Every failure of a step gives one message, whether the user exists, the secret is wrong or the key is locked
(RL-4); the details go to the audit trail and the log.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from flask import current_app, request

from .. import audit, clock
from ..errors import IdpError, LoginFailed
from ..extensions import db
from ..models import LoginFlow, SmsCode, User
from ..notices import notify
from ..oidc import interactions
from ..security import throttle
from ..security.passwords import password_problem
from . import devices
from . import flow as login_flow
from .methods import METHODS
from .methods import webauthn
from .methods.sms import active_phone, flow_binding

log = logging.getLogger(__name__)

MAX_USERNAME = 150
MAX_PASSWORD = 1024


class SecondFactorFailed(IdpError):
    status = 401
    public = "That code is not valid, or it has expired. Please try again."


def authenticate_password(username: str, password: str) -> User:
    """The user these credentials belong to; LoginFailed (same message) for unknown, wrong or disabled."""
    passwords = current_app.extensions["idp.passwords"]
    username = (username or "").strip()
    if not username or not password or len(username) > MAX_USERNAME or len(password) > MAX_PASSWORD:
        passwords.verify(None, password or "")  # same cost as a real check
        raise LoginFailed(detail="empty or oversized credentials")
    user = db.session.scalar(sa.select(User).where(User.username == username))
    if not passwords.verify(user.password_hash if user else None, password):
        raise LoginFailed(detail="wrong password" if user else "unknown user")
    if user.disabled:
        raise LoginFailed(detail="user disabled")
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash(password)
        log.info("re-hashed the password of user %s with the current argon2id parameters", user.id)
    return user


def check_password(username: str, password: str) -> User:
    """The password step with throttling per username and per client address."""
    settings = current_app.config["IDP_SETTINGS"].throttle
    user_key, ip_key = throttle.password_key(username), throttle.ip_key(request.remote_addr)
    if not throttle.reserve_all([(user_key, None, True), (ip_key, settings.ip_free_failures, False)]):
        _login_failed(username, "throttled")
    try:
        user = authenticate_password(username, password)
    except LoginFailed as exc:
        _login_failed(username, exc.detail)
    throttle.reset(user_key)
    throttle.reset(ip_key)
    audit.record("password_ok", subject=user)
    return user


def _login_failed(username: str, reason: str):
    user = db.session.scalar(sa.select(User).where(User.username == (username or "").strip()[:MAX_USERNAME]))
    audit.record("login_failed", subject=user, reason=reason, username=(username or "")[:MAX_USERNAME])
    raise LoginFailed(detail=reason)


def start_method(flow: LoginFlow, method_id: str, force: bool = False) -> str | None:
    """Prepare a method on the page (SMS: send a code unless one is still live for this flow, or ``force``)."""
    if method_id == "sms" and not force and _live_sms_code(flow):
        return f"We sent a code to {active_phone(flow.user).number_hint}."
    return METHODS[method_id].start(flow.user, flow)


def _live_sms_code(flow: LoginFlow) -> bool:
    return db.session.scalar(
        sa.select(sa.func.count()).select_from(SmsCode).where(
            SmsCode.binding == flow_binding(flow), SmsCode.consumed_at.is_(None), SmsCode.expires_at > clock.now())
    ) > 0


def check_second_factor(flow: LoginFlow, method_id: str, code: str, remember: bool = False) -> str | None:
    """Verify the code and finish the login; returns a note to show (recovery codes), or raises."""
    user = flow.user
    key = throttle.second_factor_key(user.id)
    ip_key = throttle.ip_key(request.remote_addr, "second_factor")
    ip_free = current_app.config["IDP_SETTINGS"].throttle.ip_free_failures
    if not throttle.reserve_all([(key, None, True), (ip_key, ip_free, False)]):
        _second_factor_failed(user, method_id, "throttled")
    result = METHODS[method_id].verify(user, flow, code)
    if not result.ok:
        _second_factor_failed(user, method_id, "wrong code")
    throttle.reset(key)
    throttle.reset(ip_key)
    login_session = login_flow.complete_flow(flow, method_id, result.amr)
    record_login(user, login_session.amr, flow.interaction_uid, method=method_id)
    if remember and devices.offered(user):
        devices.remember(user)
    if method_id == "recovery":
        audit.record("recovery_code_used", subject=user)
        notify(user, "A recovery code was used", "A recovery code was used to sign in to your reseller login.")
    return result.note


def _second_factor_failed(user: User, method_id: str, reason: str):
    """Audit and refuse; the message is the method's own when it has one (a security key has no code to mistype)."""
    audit.record("second_factor_failed", subject=user, method=method_id, reason=reason)
    raise SecondFactorFailed(getattr(METHODS[method_id], "failure_message", None), detail=reason)


def record_login(user: User, amr: list[str], uid: str | None, method: str | None = None,
                 remembered_device: bool = False) -> None:
    audit.record("login_success", subject=user, amr=amr, method=method, remembered_device=remembered_device)
    if uid:
        ix = interactions.load_interaction(uid)
        interactions.fulfil(ix, "login")


class PasskeyFailed(IdpError):
    status = 401
    public = "Your passkey did not sign you in. Please try again, or sign in with your username and password."


def passkey_binding() -> str:
    """A passkey sign-in's challenge belongs to this browser (the random value in its flow cookie)."""
    return "browser:" + interactions.browser_hash()


def passkey_options() -> str:
    return webauthn.authentication_options(webauthn.PASSKEY, passkey_binding())


def sign_in_with_passkey(response: str) -> tuple[User, list[str]]:
    """Passwordless sign-in: a discoverable credential with user verification is two factors in one (possession
    and the device's PIN or biometric); returns the user and the amr. Throttled per client address, and per user
    on the second-factor counter; refused while the user's password or second factor is locked (RL-6)."""
    settings = current_app.config["IDP_SETTINGS"].throttle
    ip_key = throttle.ip_key(request.remote_addr, "passkey")
    if not throttle.reserve(ip_key, free=settings.ip_free_failures, hard=False):
        _passkey_failed(None, "throttled")
    try:
        assertion = webauthn.load_assertion(response, webauthn.PASSKEY, passkey_binding())
    except webauthn.WebauthnFailed as exc:
        _passkey_failed(None, exc.detail)
    user = assertion.credential.user
    user_key = throttle.second_factor_key(user.id)
    if throttle.locked_until(throttle.password_key(user.username)) or not throttle.reserve(user_key):
        _passkey_failed(user, "throttled")
    if user.disabled:
        _passkey_failed(user, "user disabled")
    try:
        amr = webauthn.check_assertion(assertion, require_user_verification=True)
    except webauthn.WebauthnFailed as exc:
        _passkey_failed(user, exc.detail)
    throttle.reset(ip_key)  # in the order reserved (throttle_store: resets follow the reservations' lock order)
    throttle.reset(user_key)
    return user, list(dict.fromkeys([*amr, "mfa"]))


def _passkey_failed(user: User | None, reason: str):
    audit.record("login_failed", subject=user, method="passkey", reason=reason,
                 username=user.username if user else None)
    raise PasskeyFailed(detail=reason)


class NewPasswordRefused(IdpError):
    """The chosen password breaks a rule; the message says which."""


def set_new_password(user: User, new: str, repeated: str) -> None:
    """Set a password the user chose (their own change, or replacing one an administrator set)."""
    if new != repeated:
        raise NewPasswordRefused("The two passwords are not the same.")
    if problem := password_problem(new, username=user.username):
        raise NewPasswordRefused(problem)
    passwords = current_app.extensions["idp.passwords"]
    if passwords.verify(user.password_hash, new):
        raise NewPasswordRefused("Choose a password other than the current one.")
    user.password_hash = passwords.hash(new)
    audit.record("password_changed", subject=user, was_required=user.password_change_required)
    user.password_change_required = False
