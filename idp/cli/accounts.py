"""``idp accounts``: create and list reseller accounts (through the admin service, like the /admin console)."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from ..admin import service as admin
from ..errors import IdpError
from ..extensions import db
from .output import emit, fail

COLUMNS = ["id", "name", "require_2fa", "users", "created_at"]


@click.group()
def accounts():
    """Reseller accounts."""


@accounts.command("create")
@click.argument("name")
@click.option("--require-2fa", is_flag=True, help="Every user of the account must set up a second factor.")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def create(name: str, require_2fa: bool, as_json: bool):
    """Create the reseller account NAME."""
    try:
        account = admin.create_account(None, name, require_2fa)
    except IdpError as exc:
        fail(exc)
    db.session.commit()
    emit({"id": account.id, "name": account.name, "require_2fa": account.require_2fa}, as_json,
         ["id", "name", "require_2fa"])


@accounts.command("list")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def list_accounts(as_json: bool):
    """All reseller accounts with their number of users."""
    emit([row.as_dict() for row in admin.list_accounts()], as_json, COLUMNS)
