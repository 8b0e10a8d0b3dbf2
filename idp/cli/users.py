"""``idp users``: create people's logins under a reseller account, and list them."""

from __future__ import annotations

import sys

import click
import sqlalchemy as sa
from flask.cli import with_appcontext

from ..errors import IdpError
from ..extensions import db
from ..models import User
from ..models.account import ROLES
from ..users import create_user
from .output import emit, fail


@click.group()
def users():
    """User logins."""


@users.command("create")
@click.option("--account", required=True, help="Reseller account name; created if it does not exist.")
@click.option("--username", required=True)
@click.option("--email", required=True)
@click.option("--display-name")
@click.option("--role", type=click.Choice(ROLES), default="member", show_default=True)
@click.option("--admin", is_flag=True, help="Same as --role admin.")
@click.option("--password-stdin", is_flag=True, required=True, help="Read the password from standard input.")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def create(account, username, email, display_name, role, admin, password_stdin, as_json):
    """Create a user; the password is read from standard input (never from the command line)."""
    password = sys.stdin.readline().rstrip("\r\n")
    try:
        user = create_user(account=account, username=username, email=email, password=password,
                           display_name=display_name, role="admin" if admin else role)
    except IdpError as exc:
        fail(exc)
    db.session.commit()
    emit({"id": user.id, "username": user.username, "account": user.account.name, "sub": user.subject},
         as_json, ["id", "username", "account", "sub"])


@users.command("list")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def list_users(as_json: bool):
    """All users with their account and role."""
    rows = [{"id": u.id, "username": u.username, "account": u.account.name, "email": u.email, "role": u.role,
             "disabled": u.disabled, "last_login_at": u.last_login_at}
            for u in db.session.scalars(sa.select(User).order_by(User.id))]
    emit(rows, as_json, ["id", "username", "account", "email", "role", "disabled", "last_login_at"])
