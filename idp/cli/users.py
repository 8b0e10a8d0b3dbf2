"""``idp users``: create, list, disable, enable and delete logins, set a password, reset a user's 2FA.

Every command goes through the admin service, the code path of the /admin console; the audit trail records them
with no actor and ``via: cli``.
"""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from ..admin import service as admin
from ..errors import IdpError
from ..extensions import db
from ..models import User
from ..models.account import ROLES
from ..users import find_user
from .output import emit, fail

LIST_COLUMNS = ["id", "username", "account", "email", "role", "disabled", "methods", "last_login_at"]


@click.group()
def users():
    """User logins."""


def _read_password() -> str:
    return sys.stdin.readline().rstrip("\r\n")


def _user(username: str) -> User:
    try:
        return find_user(username)
    except IdpError as exc:
        fail(exc)


def _change(action, *args):
    """Run one admin-service action and commit; a refusal becomes the command's error message."""
    try:
        result = action(None, *args)
    except IdpError as exc:
        db.session.rollback()
        fail(exc)
    db.session.commit()
    return result


@users.command("create")
@click.option("--account", required=True, help="Reseller account name; created if it does not exist.")
@click.option("--username", required=True)
@click.option("--email", required=True)
@click.option("--display-name")
@click.option("--role", type=click.Choice(ROLES), default="member", show_default=True)
@click.option("--admin", "is_admin", is_flag=True, help="Same as --role admin.")
@click.option("--password-stdin", is_flag=True, required=True, help="Read the password from standard input.")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def create(account, username, email, display_name, role, is_admin, password_stdin, as_json):
    """Create a user; the password is read from standard input (never from the command line)."""
    password = _read_password()
    try:
        user = admin.create_user(None, account=account, username=username, email=email, password=password,
                                 display_name=display_name, role="admin" if is_admin else role, change_required=False)
    except IdpError as exc:
        fail(exc)
    db.session.commit()
    emit({"id": user.id, "username": user.username, "account": user.account.name, "sub": user.subject},
         as_json, ["id", "username", "account", "sub"])


@users.command("list")
@click.option("--account", help="Only the users of this account.")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def list_users(account: str | None, as_json: bool):
    """Users with their account, role, second-factor methods and last login."""
    try:
        rows = admin.list_users(admin.UserFilters(account=account))
    except IdpError as exc:
        fail(exc)
    emit([row.as_dict() for row in rows], as_json, LIST_COLUMNS)


@users.command("disable")
@click.argument("username")
@with_appcontext
def disable(username: str):
    """Block sign-in, end the user's sessions and revoke their tokens."""
    _change(admin.disable_user, _user(username))
    click.echo(f"{username} disabled and signed out everywhere")


@users.command("enable")
@click.argument("username")
@with_appcontext
def enable(username: str):
    _change(admin.enable_user, _user(username))
    click.echo(f"{username} enabled")


@users.command("delete")
@click.argument("username")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@with_appcontext
def delete(username: str, yes: bool):
    """Delete the login with its sessions, tokens and second factors."""
    user = _user(username)
    if not yes:
        click.confirm(f"Delete {username} ({user.account.name}) and everything that belongs to the login?", abort=True)
    _change(admin.delete_user, user)
    click.echo(f"{username} deleted")


@users.command("set-password")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, required=True, help="Read the password from standard input.")
@with_appcontext
def set_password(username: str, password_stdin: bool):
    """Set a password the user must replace at their next login; signs them out everywhere."""
    _change(admin.set_password, _user(username), _read_password())
    click.echo(f"password of {username} set; they choose a new one at their next login")


@users.command("reset-2fa")
@click.argument("username")
@click.option("--reason", required=True, help="How the person's identity was checked; kept in the audit trail.")
@with_appcontext
def reset_2fa(username: str, reason: str):
    """Remove the user's second factors, recovery codes and remembered browsers, and sign them out."""
    methods = _change(admin.reset_two_factor, _user(username), reason)
    click.echo(f"two-factor authentication of {username} reset (removed: {', '.join(methods) or 'none'})")
