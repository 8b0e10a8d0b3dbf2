"""Shared helpers for the two-factor tests: a clock the tests move, second factors made directly in the database,
the steps of the login and settings pages, the outbox, and a race runner.

Imported by the test modules as ``from mfa_helpers import ...`` (pytest puts tests/mfa on sys.path). The fixtures
defined here (``clock``) are imported into each module that uses them.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from unittest import mock

import phonenumbers
import pyotp
import pytest
import sqlalchemy as sa

import idp.clock
from helpers import (TEST_PASSWORD, AuthorizationRequest, Browser, csrf, csrf_token, decode_id_token, error_of,
                     post, query, race)
from idp.account.service import mask
from idp.auth.methods import recovery
from idp.extensions import db
from idp.models import (AuditEvent, AuthorizationCode, LoginSession, OutboxMessage, RecoveryCode, SmsCode, SmsPhone,
                        TotpCredential, User)
from idp.oidc.claims import ACR_MFA, ACR_PASSWORD
from idp.security.crypto import encrypt

STEP = 30
#: a UK mobile number that the installed phonenumbers metadata accepts as valid
MOBILE = "+44 7400 123456"
MOBILE_E164 = "+447400123456"
LANDLINE = "+44 20 7946 0000"
WRONG_CODE_MESSAGE = "That code is not valid, or it has expired. Please try again."
WRONG_PASSWORD_MESSAGE = "Incorrect username or password."
RECOVERY_CODE_RE = re.compile(r"^[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}$")

__all__ = [
    "ACR_MFA", "ACR_PASSWORD", "AuditEvent", "AuthorizationCode", "AuthorizationRequest", "Browser", "LANDLINE",
    "LoginSession", "MOBILE", "MOBILE_E164", "OutboxMessage", "RECOVERY_CODE_RE", "RecoveryCode", "STEP", "SmsCode",
    "SmsPhone", "TEST_PASSWORD", "TotpCredential", "User", "WRONG_CODE_MESSAGE", "WRONG_PASSWORD_MESSAGE",
    "audit_events", "authorize_to_password", "clock", "clone_browser", "count", "csrf", "emails", "enrol_sms",
    "enrol_totp", "error_of", "finish_authorization", "give_recovery", "give_sms", "give_totp", "id_token_claims",
    "last_sms_code", "logout", "password_login", "post", "query", "race", "recovery_codes_in", "second_factor_page",
    "sms_messages", "submit_code", "to_second_factor", "totp_code", "totp_key_in", "wrong_totp_code",
]


# --- time ----------------------------------------------------------------------------------------------------

class FakeClock:
    """The provider's clock during a test: starts a little after the real time, 5 s into a 30-s TOTP step."""

    def __init__(self):
        self.current = datetime.fromtimestamp((int(time.time()) // STEP + 1) * STEP + 5, UTC)

    def now(self) -> datetime:
        return self.current

    def advance(self, seconds: float) -> datetime:
        self.current += timedelta(seconds=seconds)
        return self.current

    def set(self, when: datetime) -> None:
        self.current = when

    @property
    def ts(self) -> float:
        return self.current.timestamp()


@pytest.fixture
def clock():
    fake = FakeClock()
    with mock.patch("idp.clock.now", new=fake.now):
        yield fake


def totp_code(key: str, offset: int = 0) -> str:
    """The code the app shows ``offset`` seconds from the provider's (patched) now."""
    return pyotp.TOTP(key).at(idp.clock.now().timestamp() + offset)


def wrong_totp_code(key: str) -> str:
    """A six-digit code that matches none of the steps the server accepts now."""
    now = idp.clock.now().timestamp()
    window = {pyotp.TOTP(key).at(now + d) for d in (-STEP, 0, STEP)}
    candidate = int(totp_code(key))
    while f"{candidate:06d}" in window:
        candidate = (candidate + 1) % 10**6
    return f"{candidate:06d}"


# --- database ------------------------------------------------------------------------------------------------

def count(model, *where) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def give_totp(user: User, default: bool = True) -> str:
    """A confirmed authenticator app for ``user`` (as if enrolled); returns the base32 key."""
    key = pyotp.random_base32(32)
    db.session.add(TotpCredential(user_id=user.id, secret_encrypted=encrypt(key), confirmed_at=idp.clock.now()))
    if default:
        user.default_method = "totp"
    db.session.commit()
    return key


def give_sms(user: User, number: str = MOBILE, default: bool = True) -> SmsPhone:
    parsed = phonenumbers.parse(number, "GB")
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    phone = SmsPhone(user_id=user.id, number_encrypted=encrypt(e164), number_hint=mask(parsed),
                     confirmed_at=idp.clock.now())
    db.session.add(phone)
    if default:
        user.default_method = "sms"
    db.session.commit()
    return phone


def give_recovery(user: User) -> list[str]:
    codes = recovery.new_set(user)
    db.session.commit()
    return codes


def sms_messages() -> list[OutboxMessage]:
    db.session.expire_all()
    return db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.channel == "sms")
                              .order_by(OutboxMessage.id)).all()


def last_sms_code() -> str:
    messages = sms_messages()
    assert messages, "no SMS was sent"
    return re.search(r"\b(\d{6})\b", messages[-1].body).group(1)


def emails(user: User | None = None) -> list[OutboxMessage]:
    where = [OutboxMessage.channel == "email"]
    if user is not None:
        where.append(OutboxMessage.recipient == user.email)
    return db.session.scalars(sa.select(OutboxMessage).where(*where).order_by(OutboxMessage.id)).all()


def audit_events(event: str, user: User | None = None) -> list[AuditEvent]:
    where = [AuditEvent.event == event]
    if user is not None:
        where.append(AuditEvent.subject_id == user.id)
    return db.session.scalars(sa.select(AuditEvent).where(*where).order_by(AuditEvent.id)).all()


# --- pages ---------------------------------------------------------------------------------------------------



def password_login(client, username: str = "dana", password: str = TEST_PASSWORD, uid: str | None = None):
    form = {"username": username, "password": password}
    if uid:
        form["uid"] = uid
    return post(client, "/login", **form)


def to_second_factor(client, username: str = "dana") -> str:
    """Log in with the password; the user has a second factor, so the answer is the second-factor page."""
    response = password_login(client, username)
    assert response.status_code == 303, (response.status_code, error_of(response))
    assert "/login/second-factor" in response.location, response.location
    return response.location


def second_factor_page(client, method: str | None = None):
    return client.get("/login/second-factor" + (f"?method={method}" if method else ""))


def submit_code(client, code: str, method: str = "totp", token: str | None = None):
    return client.post("/login/second-factor",
                       data={"csrf_token": token or csrf(client), "method": method, "code": code})


def logout(client) -> None:
    response = post(client, "/logout")
    assert response.status_code == 303


def totp_key_in(html: str) -> str:
    match = re.search(r'id="totp-key">([^<]*)<', html)
    assert match, "no key on the page"
    return match.group(1)


def recovery_codes_in(html: str) -> list[str]:
    return re.findall(r"<li>([^<]+)</li>", html)


def enrol_totp(client, uid: str | None = None) -> tuple[str, list[str]]:
    """Enrol an authenticator app through the pages (signed-in browser); returns the key and any recovery codes."""
    extra = {"uid": uid} if uid else {}
    response = post(client, "/account/totp/enrol", password=TEST_PASSWORD, **extra)
    assert response.status_code == 303, (response.status_code, error_of(response))
    page = client.get(response.location).get_data(as_text=True)
    key = totp_key_in(page).replace(" ", "")
    response = client.post("/account/totp/confirm",
                           data={"csrf_token": csrf_token(page), "code": totp_code(key), **extra})
    assert response.status_code == 303, (response.status_code, error_of(response))
    codes = []
    if "/account/recovery/codes" in response.location:
        codes = recovery_codes_in(client.get(response.location).get_data(as_text=True))
    return key, codes


def enrol_sms(client, number: str = MOBILE) -> list[str]:
    """Enrol a phone through the pages with the code from the outbox; returns any recovery codes shown."""
    response = post(client, "/account/sms/enrol", password=TEST_PASSWORD, phone=number)
    assert response.status_code == 303, (response.status_code, error_of(response))
    response = post(client, "/account/sms/confirm", action="confirm", code=last_sms_code())
    assert response.status_code == 303, (response.status_code, error_of(response))
    if "/account/recovery/codes" in response.location:
        return recovery_codes_in(client.get(response.location).get_data(as_text=True))
    return []


# --- authorization -------------------------------------------------------------------------------------------

def authorize_to_password(client, authz: AuthorizationRequest, username: str = "dana", **changes):
    """Start /authorize without a session and submit the password; returns the answer to the password."""
    response = client.get(authz.url(**changes))
    assert response.status_code == 303 and "/login" in response.location, response.status_code
    return Browser(client).submit_login(response.location, username, TEST_PASSWORD)


def finish_authorization(client, response, limit: int = 5):
    """Follow the provider's own redirects until the answer leaves it (redirect to the client) or is a page."""
    for _ in range(limit):
        if response.status_code not in (302, 303) or not response.location.startswith("/"):
            return response
        response = client.get(response.location)
    return response


def id_token_claims(client, authz: AuthorizationRequest, code: str) -> dict:
    tokens = client.post("/token", data=authz.token_form(code), headers=authz.basic_auth())
    assert tokens.status_code == 200, tokens.get_json()
    return decode_id_token(tokens.get_json()["id_token"], client.get("/jwks.json").get_json()).claims


# --- races ---------------------------------------------------------------------------------------------------

def clone_browser(app, source):
    """A second test client with the same cookies: the same person's browser state in another connection."""
    twin = app.test_client()
    for cookie in source._cookies.values():
        twin.set_cookie(cookie.key, cookie.value, domain=cookie.domain, path=cookie.path)
    return twin
