"""Reseller accounts and their users: the one service the CLI (and later the console) call to manage people."""

from __future__ import annotations

import re

import sqlalchemy as sa
from flask import current_app

from .errors import IdpError
from .extensions import db
from .models import Account, User
from .models.account import ROLES
from .security.passwords import password_problem
from .security.tokens import new_secret

USERNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{1,149}$")
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,189}\.[^@\s]{1,63}$")


class UserError(IdpError):
    """A request to create or change a user that breaks a rule; the message says which."""


class UserNotFound(UserError):
    status = 404


def _account_name(name: str) -> str:
    name = (name or "").strip()
    if not name or len(name) > 120:
        raise UserError("Account name: required, at most 120 characters.")
    return name


def get_or_create_account(name: str) -> Account:
    name = _account_name(name)
    account = db.session.scalar(sa.select(Account).where(Account.name == name))
    if account is None:
        account = Account(name=name)
        db.session.add(account)
        db.session.flush()
    return account


def create_user(*, account: str, username: str, email: str, password: str, display_name: str | None = None,
                role: str = "member") -> User:
    """Create one person's login under ``account`` (created if needed). Raises UserError naming the field."""
    if not USERNAME_RE.match(username or ""):
        raise UserError("Username: 2-150 letters, digits or . _ @ -, starting with a letter or digit.")
    if not EMAIL_RE.match(email or ""):
        raise UserError("Email: not a valid address.")
    if role not in ROLES:
        raise UserError(f"Role: one of {', '.join(ROLES)}.")
    if problem := password_problem(password, username=username):
        raise UserError(f"Password: {problem}")
    if db.session.scalar(sa.select(User.id).where(User.username == username)) is not None:
        raise UserError(f"Username: {username!r} is taken.")
    user = User(
        subject=new_secret(16),
        account=get_or_create_account(account),
        username=username,
        email=email,
        display_name=(display_name or username).strip()[:200],
        role=role,
        password_hash=current_app.extensions["idp.passwords"].hash(password),
    )
    db.session.add(user)
    db.session.flush()
    return user


def create_account(name: str, require_2fa: bool = False) -> Account:
    """A new reseller account; UserError when the name is empty, too long or taken."""
    name = _account_name(name)
    if db.session.scalar(sa.select(Account.id).where(Account.name == name)) is not None:
        raise UserError(f"Account name: {name!r} is taken.")
    account = Account(name=name, require_2fa=bool(require_2fa))
    db.session.add(account)
    db.session.flush()
    return account


def find_account(name: str) -> Account:
    account = db.session.scalar(sa.select(Account).where(Account.name == (name or "").strip()))
    if account is None:
        raise UserNotFound(f"There is no account named {name!r}.")
    return account


def find_user(username: str) -> User:
    user = db.session.scalar(sa.select(User).where(User.username == (username or "").strip()))
    if user is None:
        raise UserNotFound(f"There is no user {username!r}.")
    return user


def assign_password(user: User, password: str) -> None:
    """Set a password chosen by an administrator; the user must replace it at their next login."""
    if problem := password_problem(password or "", username=user.username):
        raise UserError(f"Password: {problem}")
    user.password_hash = current_app.extensions["idp.passwords"].hash(password)
    user.password_change_required = True
