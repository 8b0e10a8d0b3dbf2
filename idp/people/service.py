"""Rules for managing the people of a reseller account. Views call these; every change is audited.

Only an owner (or admin) manages people, and only of their own account: every person is looked up through
``managed_person``, which answers "not found" for a person of another account. A new person gets a login with an
unknown random password and a one-time set-up link (emailed, and shown to the owner to print) with which they
choose their own password. Disabling a person ends their sessions and revokes their tokens at once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from .. import audit, clock
from ..auth.flow import enrolled_methods
from ..auth.methods import METHODS
from ..delivery import DeliveryError, send_email
from ..errors import IdpError
from ..extensions import db
from ..models import Account, LoginSession, SetupToken, Token, User
from ..oidc import logout
from ..oidc.store import revoke_tokens
from ..security.passwords import password_problem
from ..security.tokens import new_secret, token_checksum
from ..users import create_user

log = logging.getLogger(__name__)

MANAGER_ROLES = frozenset({"owner", "admin"})
SETUP_LIFETIME = timedelta(hours=72)
MAX_TOKEN_LENGTH = 128


class PeopleError(IdpError):
    """A change to the people of an account was refused; the message says why."""


class NotAllowed(IdpError):
    status = 403
    public = "Only the account owner can manage the users of the account."


class PersonNotFound(IdpError):
    status = 404
    public = "There is no such user in your account."


class SetupLinkInvalid(IdpError):
    status = 404
    public = ("This set-up link is not valid: it was already used, or it has expired. "
              "Ask your account owner for a new one.")


@dataclass(frozen=True)
class Person:
    """One row of the "Users" page."""

    id: int
    username: str
    display_name: str
    email: str
    role: str
    disabled: bool
    methods: list[str]
    last_login_at: datetime | None
    setup_pending: bool


@dataclass(frozen=True)
class AddedPerson:
    """A new person and their set-up link, which exists in clear only here (the table keeps its checksum)."""

    user: User
    link: str
    emailed: bool


# --- who may do what ------------------------------------------------------------------------------------------

def check_may_manage(owner: User) -> Account:
    """The account ``owner`` manages; NotAllowed for anyone who is not an owner or admin."""
    if owner.role not in MANAGER_ROLES or owner.disabled:
        raise NotAllowed()
    return owner.account


def managed_person(owner: User, person_id: int) -> User:
    """A person of the owner's own account; PersonNotFound for an unknown id or another account's person."""
    check_may_manage(owner)
    person = db.session.get(User, person_id)
    if person is None or person.account_id != owner.account_id:
        raise PersonNotFound()
    return person


def _other_person(owner: User, person_id: int, action: str) -> User:
    person = managed_person(owner, person_id)
    if person.id == owner.id:
        raise PeopleError(f"You cannot {action} your own login.")
    return person


# --- the list -------------------------------------------------------------------------------------------------

def list_people(account: Account) -> list[Person]:
    """Everyone in ``account`` with their second-factor methods, by username."""
    users = db.session.scalars(sa.select(User).where(User.account_id == account.id).order_by(User.username)).all()
    pending = _setup_pending({u.id for u in users})
    return [
        Person(id=u.id, username=u.username, display_name=u.display_name, email=u.email, role=u.role,
               disabled=u.disabled, methods=[METHODS[m].label for m in enrolled_methods(u)],
               last_login_at=u.last_login_at, setup_pending=u.id in pending)
        for u in users
    ]


def _setup_pending(user_ids: set[int]) -> set[int]:
    """Those of ``user_ids`` who were sent a set-up link and have not used one yet."""
    if not user_ids:
        return set()
    return set(db.session.scalars(
        sa.select(SetupToken.user_id).where(SetupToken.user_id.in_(user_ids))
        .group_by(SetupToken.user_id).having(sa.func.count(SetupToken.used_at) == 0)
    ))


# --- adding, disabling, removing ------------------------------------------------------------------------------

def add_person(owner: User, username: str, email: str, display_name: str = "") -> AddedPerson:
    """Create a member of the owner's account and email them a set-up link; UserError names a bad field."""
    account = check_may_manage(owner)
    username, email = (username or "").strip(), (email or "").strip()
    user = create_user(account=account.name, username=username, email=email, password=_unusable_password(username),
                       display_name=(display_name or "").strip() or None, role="member")
    link = setup_link(issue_setup_token(user))
    emailed = email_setup_link(user, owner, link)
    audit.record("person_added", subject=user, actor=owner, username=user.username, emailed=emailed)
    return AddedPerson(user=user, link=link, emailed=emailed)


def _unusable_password(username: str) -> str:
    """A long random password nobody is told: the login works only once the person sets their own."""
    while True:
        password = new_secret(48)
        if password_problem(password, username=username) is None:  # a short username may appear by chance
            return password


def disable_person(owner: User, person_id: int) -> User:
    """Block the person's sign-in, end their SSO sessions and revoke their access and refresh tokens."""
    person = _other_person(owner, person_id, "disable")
    person.disabled = True
    logout.end_sessions(db.session.scalars(
        sa.select(LoginSession).where(LoginSession.user_id == person.id, LoginSession.ended_at.is_(None))).all())
    revoke_tokens(Token.user_id == person.id)
    audit.record("person_disabled", subject=person, actor=owner, username=person.username)
    return person


def enable_person(owner: User, person_id: int) -> User:
    person = managed_person(owner, person_id)
    person.disabled = False
    audit.record("person_enabled", subject=person, actor=owner, username=person.username)
    return person


def remove_person(owner: User, person_id: int) -> User:
    """Delete the person's login and everything that hangs off it (sessions, tokens, factors, set-up links)."""
    person = _other_person(owner, person_id, "remove")
    # the event keeps the account and the username; its subject_id becomes NULL with the user (ON DELETE SET NULL)
    audit.record("person_removed", subject=person, actor=owner, username=person.username, sub=person.subject)
    db.session.flush()
    db.session.delete(person)
    db.session.flush()
    return person


def set_require_2fa(owner: User, required: bool) -> Account:
    """Require a second factor of everyone in the account (they enrol at their next sign-in), or stop."""
    account = check_may_manage(owner)
    account.require_2fa = bool(required)
    audit.record("require_2fa_on" if required else "require_2fa_off", subject=owner, actor=owner,
                 account=account.name)
    return account


# --- set-up links ---------------------------------------------------------------------------------------------

def issue_setup_token(user: User) -> str:
    """A new set-up token for ``user``, in clear (returned once; only its SHA-256 is stored)."""
    token, now = new_secret(32), clock.now()
    db.session.add(SetupToken(user_id=user.id, token_hash=token_checksum(token), created_at=now,
                              expires_at=now + SETUP_LIFETIME))
    db.session.flush()
    return token


def setup_link(token: str) -> str:
    return f"{current_app.config['IDP_SETTINGS'].issuer}/setup/{token}"


def email_setup_link(user: User, owner: User, link: str) -> bool:
    """Email the link to the new person; False (and a log line) when the mail could not be handed over."""
    body = (
        f"Hello {user.display_name},\n\n{owner.display_name} added you to {user.account.name} on Reseller login.\n"
        f"Your username is: {user.username}\n\nChoose your password here (the link works once, for 72 hours):\n"
        f"{link}\n\nThis login is yours alone: please do not share it.\n"
    )
    try:
        send_email(user.email, "Set up your Reseller login", body)
        return True
    except DeliveryError as exc:
        log.warning("set-up link for user %s not emailed: %s", user.id, exc)
        return False


def find_setup_token(token: str) -> SetupToken:
    """The live set-up token behind a link; SetupLinkInvalid when unknown, used, expired or the user is disabled."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise SetupLinkInvalid()
    row = db.session.scalar(sa.select(SetupToken).where(SetupToken.token_hash == token_checksum(token)))
    if row is None or row.used_at is not None or row.expires_at <= clock.now() or row.user.disabled:
        raise SetupLinkInvalid()
    return row


def complete_setup(token: str, password: str) -> User:
    """Set the person's password from their set-up link; the link then stops working (single use, atomic)."""
    row = find_setup_token(token)
    user = row.user
    if problem := password_problem(password or "", username=user.username):
        raise PeopleError(problem)
    password_hash = current_app.extensions["idp.passwords"].hash(password)
    if not consume_setup_token(row):
        raise SetupLinkInvalid()
    user.password_hash = password_hash
    audit.record("password_set_by_setup_link", subject=user)
    return user


def consume_setup_token(row: SetupToken) -> bool:
    """Mark the token used; True for exactly one caller, however many race."""
    result = db.session.execute(
        sa.update(SetupToken).where(SetupToken.id == row.id, SetupToken.used_at.is_(None))
        .values(used_at=clock.now()),
        execution_options={"synchronize_session": False},
    )
    return result.rowcount == 1
