"""Helpers for the tests of the owner's "Users" pages: signing in, posting forms, the set-up link, the outbox.

Imported by the test modules as ``from people_helpers import ...`` (pytest puts tests/people on sys.path).
"""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pyotp
import pytest
import sqlalchemy as sa

import idp.clock
from helpers import TEST_PASSWORD, csrf, csrf_token, error_of, post
from idp.extensions import db
from idp.models import AuditEvent, OutboxMessage, TotpCredential, User
from idp.security.crypto import encrypt

LINK_RE = re.compile(r'id="setup-link">([^<]+)<')
NEW_PASSWORD = "violet kettle under the stairs"


@pytest.fixture
def owner(make_user):
    return make_user("olivia", role="owner")


@pytest.fixture
def member(make_user):
    return make_user("dana")




def sign_in(client, username: str, password: str = TEST_PASSWORD) -> None:
    response = post(client, "/login", username=username, password=password)
    assert response.status_code == 303, (response.status_code, error_of(response))


def new_browser(client):
    return client.application.test_client()


def add_person(client, username: str = "sam", email: str = "sam@acme.example", display_name: str = "Sam Lee"):
    """Add a user on the Users page; returns the set-up link shown once on the next page."""
    response = post(client, "/account/users", username=username, email=email, display_name=display_name)
    assert response.status_code == 303, (response.status_code, error_of(response))
    page = client.get(response.location)
    assert page.status_code == 200
    return LINK_RE.search(page.get_data(as_text=True)).group(1)


def path_of(link: str) -> str:
    return urlsplit(link).path


def set_password(client, link: str, password: str = NEW_PASSWORD, again: str | None = None):
    path = path_of(link)
    page = client.get(path)
    assert page.status_code == 200, page.status_code
    return client.post(path, data={"csrf_token": csrf_token(page.get_data(as_text=True)), "password": password,
                                   "password_again": password if again is None else again})


def emails_to(address: str) -> list[OutboxMessage]:
    return db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.channel == "email",
                                                             OutboxMessage.recipient == address)
                              .order_by(OutboxMessage.id)).all()


def audit_events(event: str) -> list[AuditEvent]:
    return db.session.scalars(sa.select(AuditEvent).where(AuditEvent.event == event).order_by(AuditEvent.id)).all()


def user_named(username: str) -> User | None:
    db.session.expire_all()
    return db.session.scalar(sa.select(User).where(User.username == username))


def give_totp(user: User) -> None:
    """A confirmed authenticator app for ``user``, as if enrolled."""
    db.session.add(TotpCredential(user_id=user.id, secret_encrypted=encrypt(pyotp.random_base32(32)),
                                  confirmed_at=idp.clock.now()))
    user.default_method = "totp"
    db.session.commit()


def later(seconds: float):
    """A time ``seconds`` from now, for ``mock.patch("idp.clock.now", return_value=...)``."""
    return idp.clock.now() + timedelta(seconds=seconds)
