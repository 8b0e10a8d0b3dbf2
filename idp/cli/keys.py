"""``idp keys``: list, generate, rotate and retire the ID-token signing keys in the keys directory."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from ..oidc.keys import ALGORITHMS, KeysError, generate_key, load_keyring, retire_key
from .output import emit


def _settings():
    return current_app.config["IDP_SETTINGS"]


@click.group()
def keys():
    """Signing keys."""


@keys.command("generate")
@click.option("--alg", type=click.Choice(sorted(ALGORITHMS)), default="RS256", show_default=True)
@with_appcontext
def generate(alg: str):
    """Write a new key (published at once, signing after the lead time)."""
    click.echo(f"wrote {generate_key(_settings().keys.dir, alg)}")


@keys.command("rotate")
@click.option("--alg", type=click.Choice(sorted(ALGORITHMS)), default="RS256", show_default=True)
@with_appcontext
def rotate(alg: str):
    """Start a rotation: the new key is published now and signs after `keys.rotation_lead_time` seconds."""
    path = generate_key(_settings().keys.dir, alg)
    click.echo(f"wrote {path}; it signs {alg} tokens in {_settings().keys.rotation_lead_time} s, "
               "the current key stays published until its tokens have expired")


@keys.command("retire")
@click.argument("kid")
@with_appcontext
def retire(kid: str):
    """Remove a superseded key from the JWKS once no unexpired token can carry its signature.

    A kid may start with "-": write `idp keys retire -- KID` then."""
    s = _settings()
    try:
        path = retire_key(s.keys.dir, kid, s.keys.rotation_lead_time, s.tokens.id_token_lifetime)
    except KeysError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"retired {kid} (moved to {path})")


@keys.command("list")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def list_keys(as_json: bool):
    """The published keys and which one signs for each algorithm."""
    s = _settings()
    ring = load_keyring(s.keys.dir)
    signing = {ring.signing_key(alg, s.keys.rotation_lead_time).kid for alg in ring.algorithms}
    emit([{"alg": k.alg, "kid": k.kid, "created_at": k.created_at.isoformat(timespec="seconds"),
           "state": "signing" if k.kid in signing else "published", "file": k.filename} for k in ring.keys],
         as_json, ["alg", "kid", "state", "created_at", "file"])
