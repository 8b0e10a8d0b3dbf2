"""``idp clients``: register and list OAuth clients (the secret is printed once)."""

from __future__ import annotations

import click
import sqlalchemy as sa
from flask.cli import with_appcontext

from ..errors import IdpError
from ..extensions import db
from ..models import Client
from ..oidc.registration import (CONFIDENTIAL_METHODS, ID_TOKEN_ALGS, create_client, delete_client, find_client,
                                 issue_registration_token, list_registration_tokens, registration_token_status,
                                 revoke_registration_token, rotate_secret, update_client)
from .output import emit, fail


def describe(client: Client) -> dict:
    """Everything about a client except its secret (which is never kept)."""
    return {"client_id": client.client_id, "name": client.name, "type": "public" if client.is_public else "confidential",
            "trusted": client.trusted, "requires_2fa": client.requires_2fa, "enabled": client.enabled,
            "redirect_uris": client.redirect_uris, "post_logout_redirect_uris": client.post_logout_redirect_uris,
            "backchannel_logout_uri": client.backchannel_logout_uri, "grant_types": client.grant_types,
            "scope": client.scope, "token_endpoint_auth_method": client.token_endpoint_auth_method,
            "id_token_signed_response_alg": client.id_token_signed_response_alg,
            "access_token_lifetime": client.access_token_lifetime, "id_token_lifetime": client.id_token_lifetime,
            "refresh_token_lifetime": client.refresh_token_lifetime, "jwks_uri": client.jwks_uri,
            "jwks": client.jwks, "previous_secret_valid_until": client.previous_secret_expires_at}


def _jwks(file) -> str | None:
    """A JWK Set from a file (``-`` for stdin), as text: the service checks it."""
    return file.read() if file is not None else None


AUTH_METHODS = click.Choice(list(CONFIDENTIAL_METHODS))


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
@click.option("--auth-method", type=AUTH_METHODS, default="client_secret_basic", show_default=True,
              help="For confidential clients; private_key_jwt needs --jwks-uri or --jwks-file.")
@click.option("--jwks-uri", default=None, help="private_key_jwt: where idp reads the client's public keys.")
@click.option("--jwks-file", type=click.File("r"), default=None, help="private_key_jwt: the public keys (JWK Set).")
@click.option("--grant-type", "grant_types", multiple=True,
              help="Repeatable (default: authorization_code, refresh_token); client_credentials for a confidential "
                   "client that calls APIs for itself.")
@click.option("--scope", default=None, help="Default: openid profile email offline_access.")
@click.option("--requires-2fa", is_flag=True, help="Its users must use a second factor.")
@click.option("--id-token-alg", "id_token_signed_response_alg", type=click.Choice(list(ID_TOKEN_ALGS)),
              default="RS256", show_default=True)
@click.option("--access-token-lifetime", type=int)
@click.option("--id-token-lifetime", type=int)
@click.option("--refresh-token-lifetime", type=int)
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def create(name, redirect_uris, logout_uris, public, auth_method, jwks_file, grant_types, as_json, **options):
    """Register a client and print its id and (once) its secret."""
    try:
        client, secret = create_client(name=name, redirect_uris=list(redirect_uris), public=public,
                                       post_logout_redirect_uris=list(logout_uris),
                                       token_endpoint_auth_method=auth_method, jwks=_jwks(jwks_file),
                                       grant_types=list(grant_types) or None, **options)
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


def _find(client_id: str) -> Client:
    try:
        return find_client(client_id)
    except IdpError as exc:
        fail(exc)


def _apply(client_id: str, **changes) -> Client:
    client = _find(client_id)
    try:
        update_client(client, **changes)
    except IdpError as exc:
        fail(exc)
    db.session.commit()
    return client


@clients.command("show")
@click.argument("client_id")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def show(client_id: str, as_json: bool):
    """One client's settings."""
    data = describe(_find(client_id))
    emit(data if as_json else [{"setting": k, "value": v} for k, v in data.items()], as_json, ["setting", "value"])


@clients.command("update")
@click.argument("client_id")
@click.option("--name")
@click.option("--redirect-uri", "redirect_uris", multiple=True, help="Replaces all redirect URIs; repeatable.")
@click.option("--post-logout-redirect-uri", "logout_uris", multiple=True, help="Replaces them all; repeatable.")
@click.option("--backchannel-logout-uri")
@click.option("--auth-method", "token_endpoint_auth_method", type=AUTH_METHODS)
@click.option("--jwks-uri")
@click.option("--jwks-file", "jwks", type=click.File("r"), help="private_key_jwt: the public keys (JWK Set).")
@click.option("--id-token-alg", "id_token_signed_response_alg", type=click.Choice(list(ID_TOKEN_ALGS)))
@click.option("--grant-type", "grant_types", multiple=True)
@click.option("--scope")
@click.option("--trusted/--untrusted", default=None)
@click.option("--requires-2fa/--no-requires-2fa", "requires_2fa", default=None)
@click.option("--access-token-lifetime", type=int)
@click.option("--id-token-lifetime", type=int)
@click.option("--refresh-token-lifetime", type=int)
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def update(client_id, as_json, **options):
    """Change settings; options not given stay as they are."""
    if options["jwks"] is not None:
        options["jwks"] = _jwks(options["jwks"])
    changes = {k: (list(v) if isinstance(v, tuple) else v) for k, v in options.items() if v not in (None, ())}
    changes = {("post_logout_redirect_uris" if k == "logout_uris" else k): v for k, v in changes.items()}
    emit(describe(_apply(client_id, **changes)), as_json, ["client_id", "name", "enabled", "redirect_uris"])


@clients.command("rotate-secret")
@click.argument("client_id")
@click.option("--grace", type=int, help="Seconds the old secret keeps working (default: tokens.secret_rotation_grace).")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def rotate(client_id: str, grace: int | None, as_json: bool):
    """Issue a new secret (printed once); the old one stays valid during the grace period."""
    client = _find(client_id)
    try:
        secret = rotate_secret(client, grace=grace)
    except IdpError as exc:
        fail(exc)
    db.session.commit()
    emit({"client_id": client.client_id, "client_secret": secret,
          "previous_secret_valid_until": client.previous_secret_expires_at}, as_json,
         ["client_id", "client_secret", "previous_secret_valid_until"])


@clients.command("disable")
@click.argument("client_id")
@with_appcontext
def disable(client_id: str):
    """Refuse all requests from this client until it is enabled again."""
    _apply(client_id, enabled=False)
    click.echo(f"{client_id} disabled")


@clients.command("enable")
@click.argument("client_id")
@with_appcontext
def enable(client_id: str):
    _apply(client_id, enabled=True)
    click.echo(f"{client_id} enabled")


@clients.command("delete")
@click.argument("client_id")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@with_appcontext
def delete(client_id: str, yes: bool):
    """Delete the client with its codes, tokens and consents."""
    client = _find(client_id)
    if not yes:
        click.confirm(f"Delete {client.name} ({client_id}) and every token it holds?", abort=True)
    delete_client(client)
    db.session.commit()
    click.echo(f"{client_id} deleted")


@clients.command("issue-registration-token")
@click.option("--expires-in", type=int, default=86400, show_default=True, help="Seconds until the token expires.")
@click.option("--max-uses", type=int, default=1, show_default=True, help="How many clients it may register.")
@click.option("--note", default=None, help="Who or what it is for (shown by registration-tokens list).")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def issue_registration_token_command(expires_in: int, max_uses: int, note: str | None, as_json: bool):
    """An initial access token for Dynamic Client Registration (POST /register, RFC 7591 3), printed once."""
    try:
        row, token = issue_registration_token(expires_in=expires_in, max_uses=max_uses, note=note)
    except IdpError as exc:
        fail(exc)
    db.session.commit()
    emit({"registration_token": token, "expires_at": row.expires_at, "max_uses": row.max_uses}, as_json,
         ["registration_token", "expires_at", "max_uses"])
    if not as_json:
        click.echo("The token is shown only now; it is stored hashed.", err=True)


@clients.group("registration-tokens")
def registration_tokens():
    """Initial access tokens of the registration API: list and revoke (the tokens themselves are never shown)."""


@registration_tokens.command("list")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def list_tokens(as_json: bool):
    """Every initial access token, newest first: id, dates, uses, status and note."""
    rows = [{"id": row.id, "created_at": row.created_at, "expires_at": row.expires_at, "uses": row.uses,
             "max_uses": row.max_uses, "status": registration_token_status(row), "revoked_at": row.revoked_at,
             "note": row.note} for row in list_registration_tokens()]
    emit(rows, as_json, ["id", "created_at", "expires_at", "uses", "max_uses", "status", "note"])


@registration_tokens.command("revoke")
@click.argument("token_id", type=int)
@with_appcontext
def revoke_token(token_id: int):
    """Stop a token from registering more clients; clients it registered stay."""
    try:
        revoke_registration_token(token_id)
    except IdpError as exc:
        fail(exc)
    db.session.commit()
    click.echo(f"registration token {token_id} revoked")
