"""Rules for changing one's own second factors. Views call these; each change is audited and notified by email.

Enrolling asks for the password again; a user who already has a second factor must have used it in this session
(changing a phone number is binding a new authenticator, NIST SP 800-63B 6.1.2.1). The most recently enabled
method becomes the default. Disabling the last method turns 2FA off and voids the recovery codes.
"""

from __future__ import annotations

import base64
import io
from datetime import timedelta

import phonenumbers
import pyotp
import qrcode
import qrcode.image.svg
import sqlalchemy as sa
from flask import current_app

from .. import audit, clock
from ..auth import flow as login_flow
from ..auth.methods import METHODS, recovery
from ..auth.methods.sms import active_phone, check_code, send_code
from ..auth.methods.totp import active_credential, matching_step, use_step
from ..auth.methods.webauthn import available as webauthn_available, credentials_of
from ..auth.service import authenticate_password
from ..auth.sessions import start_login_session
from ..errors import IdpError, LoginFailed
from ..extensions import db
from ..models import LoginSession, SmsPhone, TotpCredential, User, WebauthnCredential
from ..notices import notify
from ..oidc.claims import ACR_MFA
from ..security import throttle
from ..security.crypto import decrypt, encrypt


class SettingsError(IdpError):
    """A change to one's own settings was refused; the message says why."""


def confirm_password(user: User, password: str) -> None:
    """Re-authentication for sensitive changes, throttled like the login's password step."""
    key = throttle.password_key(user.username)
    if not throttle.reserve(key):
        raise SettingsError("Incorrect password.")
    try:
        authenticate_password(user.username, password)
    except LoginFailed:
        audit.record("password_confirm_failed", subject=user)
        raise SettingsError("Incorrect password.") from None
    throttle.reset(key)


def check_may_enrol(login_session: LoginSession) -> None:
    if login_flow.has_second_factor(login_session.user) and "mfa" not in login_session.amr:
        raise SettingsError("Sign in with your second factor before changing your sign-in methods.")


# --- authenticator app ---------------------------------------------------------------------------------------

def start_totp(user: User) -> TotpCredential:
    db.session.execute(sa.delete(TotpCredential).where(TotpCredential.user_id == user.id,
                                                       TotpCredential.confirmed_at.is_(None)))
    credential = TotpCredential(user_id=user.id, secret_encrypted=encrypt(pyotp.random_base32(32)))
    db.session.add(credential)
    db.session.flush()
    return credential


def pending_totp(user: User) -> TotpCredential | None:
    lifetime = timedelta(seconds=current_app.config["IDP_SETTINGS"].mfa.totp_enrolment_lifetime)
    credential = db.session.scalar(
        sa.select(TotpCredential).where(TotpCredential.user_id == user.id, TotpCredential.confirmed_at.is_(None))
        .order_by(TotpCredential.id.desc()).limit(1))
    if credential is None or credential.created_at + lifetime <= clock.now():
        return None
    return credential


def totp_display(user: User, credential: TotpCredential) -> dict:
    """The key grouped in fours for reading aloud, the otpauth:// URI and its QR code as inline SVG."""
    secret = decrypt(credential.secret_encrypted)
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.username,
                                              issuer_name=current_app.config["IDP_SETTINGS"].mfa.issuer_label)
    image = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage, box_size=10, border=2)
    buffer = io.BytesIO()
    image.save(buffer)
    svg = buffer.getvalue().decode()
    svg = svg[svg.index("<svg"):]  # drop the XML declaration to embed it
    return {"key": " ".join(secret[i:i + 4] for i in range(0, len(secret), 4)), "uri": uri, "qr_svg": svg}


def confirm_totp(login_session: LoginSession, code: str) -> list[str] | None:
    """Enable the pending app with a code from it; returns new recovery codes when the user had none."""
    user = login_session.user
    credential = pending_totp(user)
    if credential is None:
        raise SettingsError("This set-up has expired. Please start again.")
    step = matching_step(decrypt(credential.secret_encrypted), code)
    if step is None:
        raise SettingsError("That code is not right. Check the time on your phone and enter the newest code.")
    db.session.execute(sa.delete(TotpCredential).where(TotpCredential.user_id == user.id,
                                                       TotpCredential.id != credential.id))
    credential.confirmed_at = clock.now()
    use_step(credential, step)
    return _enabled(login_session, "totp")


# --- SMS ---------------------------------------------------------------------------------------------------

def parse_mobile(number: str) -> phonenumbers.PhoneNumber:
    region = current_app.config["IDP_SETTINGS"].mfa.default_region
    try:
        parsed = phonenumbers.parse((number or "")[:40], region)
    except phonenumbers.NumberParseException:
        raise SettingsError("That is not a phone number. Enter a mobile number, e.g. +44 7911 123456.") from None
    kind = phonenumbers.number_type(parsed)
    if not phonenumbers.is_valid_number(parsed) or kind not in (phonenumbers.PhoneNumberType.MOBILE,
                                                                phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE):
        raise SettingsError("That is not a valid mobile number. Enter a mobile number, e.g. +44 7911 123456.")
    return parsed


def mask(parsed: phonenumbers.PhoneNumber) -> str:
    national = phonenumbers.national_significant_number(parsed)
    return f"+{parsed.country_code} {'•' * max(len(national) - 3, 0)}{national[-3:]}"


def start_sms(user: User, number: str) -> SmsPhone:
    """Store the number as pending (encrypted, E.164) and text it a code; the gateway may refuse (SmsNotSent)."""
    parsed = parse_mobile(number)
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    db.session.execute(sa.delete(SmsPhone).where(SmsPhone.user_id == user.id, SmsPhone.confirmed_at.is_(None)))
    phone = SmsPhone(user_id=user.id, number_encrypted=encrypt(e164), number_hint=mask(parsed))
    db.session.add(phone)
    db.session.flush()
    try:
        send_code(user, phone, enrol_binding(phone))
    except IdpError:
        db.session.delete(phone)  # nothing was sent: keep no pending number that claims otherwise
        raise
    return phone


def enrol_binding(phone: SmsPhone) -> str:
    return f"enrol:{phone.id}"


def pending_phone(user: User) -> SmsPhone | None:
    return db.session.scalar(sa.select(SmsPhone).where(SmsPhone.user_id == user.id, SmsPhone.confirmed_at.is_(None))
                             .order_by(SmsPhone.id.desc()).limit(1))


def resend_enrol_code(user: User) -> SmsPhone:
    phone = pending_phone(user)
    if phone is None:
        raise SettingsError("This set-up has expired. Please start again.")
    send_code(user, phone, enrol_binding(phone))
    return phone


def confirm_sms(login_session: LoginSession, code: str) -> list[str] | None:
    user = login_session.user
    phone = pending_phone(user)
    if phone is None:
        raise SettingsError("This set-up has expired. Please start again.")
    if not check_code(user, enrol_binding(phone), code):
        raise SettingsError("That code is not right, or it has expired. Try again or send a new code.")
    db.session.execute(sa.delete(SmsPhone).where(SmsPhone.user_id == user.id, SmsPhone.id != phone.id))
    phone.confirmed_at = clock.now()
    return _enabled(login_session, "sms")


# --- shared rules ------------------------------------------------------------------------------------------

def _enabled(login_session: LoginSession, method_id: str, extra_notice: str = "") -> list[str] | None:
    """After any enrolment: default method, recovery codes if none, audit, notice, and a session that proved it."""
    user = login_session.user
    user.default_method = method_id
    codes = recovery.new_set(user) if recovery.remaining(user) == 0 else None
    audit.record("second_factor_enabled", subject=user, method=method_id)
    notify(user, f"{METHODS[method_id].label} turned on",
           f"{METHODS[method_id].label} was turned on for two-factor sign-in to your reseller login."
           + (f" {extra_notice}" if extra_notice else ""))
    amr = list(dict.fromkeys([*login_session.amr, *METHODS[method_id].amr, "mfa"]))
    start_login_session(user, amr=amr, acr=ACR_MFA)
    return codes


def disable_method(user: User, method_id: str) -> None:
    if method_id == "totp":
        db.session.execute(sa.delete(TotpCredential).where(TotpCredential.user_id == user.id))
    elif method_id == "sms":
        db.session.execute(sa.delete(SmsPhone).where(SmsPhone.user_id == user.id))
    elif method_id == "webauthn":
        db.session.execute(sa.delete(WebauthnCredential).where(WebauthnCredential.user_id == user.id))
    else:
        raise SettingsError("Unknown method.")
    _disabled(user, method_id)


def _disabled(user: User, method_id: str) -> None:
    """After a method's last authenticator is gone: a new default, or 2FA off and the recovery codes void."""
    remaining_methods = login_flow.enrolled_methods(user)
    if not remaining_methods:
        recovery.void_all(user)
        user.default_method = None
    elif user.default_method == method_id:
        user.default_method = remaining_methods[0]
    audit.record("second_factor_disabled", subject=user, method=method_id, two_factor_on=bool(remaining_methods))
    notify(user, f"{METHODS[method_id].label} turned off",
           f"{METHODS[method_id].label} was turned off for your reseller login."
           + ("" if remaining_methods else " Two-factor authentication is now off."))


def set_default(user: User, method_id: str) -> None:
    if method_id not in login_flow.enrolled_methods(user):
        raise SettingsError("That method is not enabled.")
    user.default_method = method_id
    audit.record("default_method_changed", subject=user, method=method_id)
    notify(user, "Default sign-in method changed",
           f"{METHODS[method_id].label} is now asked for first when you sign in to your reseller login.")


def regenerate_recovery_codes(user: User) -> list[str]:
    if not login_flow.has_second_factor(user):
        raise SettingsError("Turn on two-factor authentication first.")
    codes = recovery.new_set(user)
    audit.record("recovery_codes_regenerated", subject=user)
    notify(user, "New recovery codes", "A new set of recovery codes was made; the old codes no longer work.")
    return codes


def overview(user: User) -> dict:
    enrolled = login_flow.enrolled_methods(user)
    phone = active_phone(user)
    return {
        "enrolled": enrolled,
        "default": login_flow.default_method(user),
        "recovery_left": recovery.remaining(user) if enrolled else 0,
        "phone_hint": phone.number_hint if phone else None,
        "totp": active_credential(user),
        "webauthn_keys": credentials_of(user),
        "webauthn_available": webauthn_available(),
    }


def seal_codes(codes: list[str]) -> str:
    """Recovery codes for one display after a redirect, encrypted in the flow cookie (never stored in clear)."""
    return encrypt("\n".join(codes))


def unseal_codes(sealed: str) -> list[str]:
    return decrypt(sealed).split("\n")


def codes_download(codes: list[str]) -> str:
    text = "Reseller login recovery codes. Each code works once.\n\n" + "\n".join(codes) + "\n"
    return "data:text/plain;charset=utf-8;base64," + base64.b64encode(text.encode()).decode()
