"""``idp keys``: generate and list the ID-token signing keys in the keys directory."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from ..oidc.keys import ALGORITHMS, generate_key, load_keyring
from .output import emit


@click.group()
def keys():
    """Signing keys."""


@keys.command("generate")
@click.option("--alg", type=click.Choice(sorted(ALGORITHMS)), default="RS256", show_default=True)
@with_appcontext
def generate(alg: str):
    """Write a new key; it signs from now on for its algorithm, older ones stay published."""
    path = generate_key(current_app.config["IDP_SETTINGS"].keys.dir, alg)
    click.echo(f"wrote {path}")


@keys.command("list")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def list_keys(as_json: bool):
    """The published keys, newest last per algorithm."""
    ring = load_keyring(current_app.config["IDP_SETTINGS"].keys.dir)
    emit([{"alg": k.alg, "kid": k.kid, "file": k.filename} for k in ring.keys], as_json, ["alg", "kid", "file"])
