"""Helpers for the admin console tests: an admin with an authenticator app, signing in with and without it.

Imported by the test modules as ``from admin_helpers import ...`` (pytest puts tests/admin on sys.path).
"""

from __future__ import annotations

import pyotp
import pytest
import sqlalchemy as sa

import idp.clock
from helpers import TEST_PASSWORD, csrf_token, error_of, post
from idp.extensions import db
from idp.models import AuditEvent, TotpCredential, User
from idp.security.crypto import encrypt

SECRET = pyotp.random_base32()
NEW_PASSWORD = "violet kettle under the stairs"


def give_totp(user: User, secret: str = SECRET) -> None:
    """A confirmed authenticator app for ``user``, as if enrolled."""
    db.session.add(TotpCredential(user_id=user.id, secret_encrypted=encrypt(secret), confirmed_at=idp.clock.now()))
    user.default_method = "totp"
    db.session.commit()


@pytest.fixture
def admin(make_user):
    """An idp admin (account Operations) with an authenticator app."""
    user = make_user("ada", role="admin", account="Operations")
    give_totp(user)
    return user


def sign_in(client, username: str, password: str = TEST_PASSWORD):
    """The password step; returns its response (303 to the second factor when the user has one)."""
    response = post(client, "/login", username=username, password=password)
    assert response.status_code == 303, (response.status_code, error_of(response))
    return response


def sign_in_with_mfa(client, username: str = "ada", secret: str = SECRET) -> None:
    assert sign_in(client, username).location.startswith("/login/second-factor")
    page = client.get("/login/second-factor").get_data(as_text=True)
    code = pyotp.TOTP(secret).at(idp.clock.now().timestamp())
    response = client.post("/login/second-factor", data={"csrf_token": csrf_token(page), "method": "totp",
                                                          "code": code})
    assert response.status_code == 303, (response.status_code, error_of(response))


@pytest.fixture
def console(client, admin):
    """A browser signed in as the admin with both factors."""
    sign_in_with_mfa(client)
    return client


def new_browser(client):
    return client.application.test_client()


def user_named(username: str) -> User | None:
    db.session.expire_all()
    return db.session.scalar(sa.select(User).where(User.username == username))


def audit_events(event: str) -> list[AuditEvent]:
    db.session.expire_all()
    return db.session.scalars(sa.select(AuditEvent).where(AuditEvent.event == event).order_by(AuditEvent.id)).all()


def signed_in(browser) -> bool:
    """Whether this browser still has a live session (the settings page answers instead of sending to login)."""
    return browser.get("/account/security").status_code == 200
