"""The ``idp`` console script: Flask's CLI (run, shell, routes) plus serve, db, keys, clients, users, accounts, audit and demo commands.

Run from the repository root after ``make demo``, it finds ``instance/config.toml`` and needs no flags.
"""

from __future__ import annotations

import click
from flask.cli import FlaskGroup

from ..app import create_app
from ..config import ConfigError
from ..oidc.keys import KeysError
from .accounts import accounts
from .audit import audit
from .clients import clients
from .db import db_group
from .demo import demo
from .keys import keys
from .serve import serve
from .users import users


def _create_app():
    try:
        return create_app()
    except (ConfigError, KeysError) as exc:
        raise click.ClickException(str(exc)) from None


@click.group(cls=FlaskGroup, create_app=_create_app, add_version_option=False, load_dotenv=False)
def cli():
    """Manage the idp identity provider."""


cli.add_command(accounts)
cli.add_command(audit)
cli.add_command(db_group)
cli.add_command(keys)
cli.add_command(clients)
cli.add_command(users)
cli.add_command(demo)
cli.add_command(serve)
