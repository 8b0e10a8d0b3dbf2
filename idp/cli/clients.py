"""``idp clients``: register and list OAuth clients (the secret is printed once)."""

from __future__ import annotations

import click
import sqlalchemy as sa
from flask.cli import with_appcontext

from ..errors import IdpError
from ..extensions import db
from ..models import Client
from ..oidc.registration import create_client
from .output import emit, fail


def describe(client: Client) -> dict:
    return {"client_id": client.client_id, "name": client.name, "type": "public" if client.is_public else "confidential",
            "trusted": client.trusted, "enabled": client.enabled, "redirect_uris": client.redirect_uris,
            "token_endpoint_auth_method": client.token_endpoint_auth_method}


@click.group()
def clients():
    """OAuth clients."""


@clients.command("create")
@click.option("--name", required=True)
@click.option("--redirect-uri", "redirect_uris", multiple=True, required=True, help="Exact redirect URI; repeatable.")
@click.option("--post-logout-redirect-uri", "logout_uris", multiple=True)
@click.option("--backchannel-logout-uri", default=None,
              help="Where logout tokens are POSTed when a session ends (OIDC Back-Channel Logout).")
@click.option("--public", is_flag=True, help="A public client (no secret, PKCE required).")
@click.option("--trusted", is_flag=True, help="First-party: skips the consent page.")
@click.option("--auth-method", type=click.Choice(["client_secret_basic", "client_secret_post"]),
              default="client_secret_basic", show_default=True)
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def create(name, redirect_uris, logout_uris, backchannel_logout_uri, public, trusted, auth_method, as_json):
    """Register a client and print its id and (once) its secret."""
    try:
        client, secret = create_client(name=name, redirect_uris=list(redirect_uris), public=public, trusted=trusted,
                                       post_logout_redirect_uris=list(logout_uris),
                                       token_endpoint_auth_method=auth_method,
                                       backchannel_logout_uri=backchannel_logout_uri)
    except IdpError as exc:
        fail(exc)
    db.session.commit()
    emit({"client_id": client.client_id, "client_secret": secret}, as_json, ["client_id", "client_secret"])
    if not as_json and secret:
        click.echo("The secret is shown only now; it is stored hashed.", err=True)


@clients.command("list")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def list_clients(as_json: bool):
    """All registered clients."""
    rows = [describe(c) for c in db.session.scalars(sa.select(Client).order_by(Client.id))]
    emit(rows, as_json, ["client_id", "name", "type", "trusted", "enabled", "redirect_uris"])
