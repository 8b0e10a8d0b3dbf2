"""The demo's data: a reseller account with a demo user, and the two panels registered as trusted clients, each
with its post-logout redirect URI (RP-Initiated Logout 1.0 section 3.1) and back-channel logout URI
``<base_url>/backchannel-logout`` (Back-Channel Logout 1.0 section 2.2).

Idempotent: running it again finds what exists. A panel's client secret lives in its own config file under
``instance/``; when that file is missing the secret is re-issued and the file rewritten.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from .extensions import db
from .models import Client, User
from .oidc.registration import create_client
from .security.tokens import check_client_secret, hash_client_secret, new_secret
from .users import create_user

DEMO_ACCOUNT = "Demo Reseller Ltd"
DEMO_USERNAME = "demo"
DEMO_PASSWORD = "correct horse battery staple"


@dataclass(frozen=True)
class Panel:
    client_id: str
    name: str
    port: int
    cookie_name: str


PANELS = (
    Panel("rcp", "Resellers Control Panel", 8001, "rcp_session"),
    Panel("cri", "Classic Reseller Interface", 8002, "cri_session"),
)


def seed_demo_user() -> User:
    user = db.session.scalar(sa.select(User).where(User.username == DEMO_USERNAME))
    if user is None:
        user = create_user(account=DEMO_ACCOUNT, username=DEMO_USERNAME, email="demo@reseller.example",
                           password=DEMO_PASSWORD, display_name="Dana Demo", role="owner")
    return user


def seed_panel(panel: Panel, issuer: str, config_dir: Path, host: str = "127.0.0.1") -> Path:
    """Register the panel as a trusted client (if needed) and write its config file; return the file."""
    file = config_dir / f"{panel.client_id}.toml"
    existing = tomllib.loads(file.read_text()) if file.is_file() else {}
    secret = existing.get("panel", {}).get("client_secret") or new_secret(32)
    cookie_secret = existing.get("panel", {}).get("secret_key") or new_secret(32)
    base_url = f"http://{host}:{panel.port}"
    client = db.session.scalar(sa.select(Client).where(Client.client_id == panel.client_id))
    if client is None:
        create_client(name=panel.name, redirect_uris=[f"{base_url}/callback"], trusted=True,
                      post_logout_redirect_uris=[f"{base_url}/"], client_id=panel.client_id, client_secret=secret,
                      backchannel_logout_uri=f"{base_url}/backchannel-logout")
    else:
        if not check_client_secret(secret, client.client_secret_hash or ""):
            client.client_secret_hash = hash_client_secret(secret)
        client.backchannel_logout_uri = client.backchannel_logout_uri or f"{base_url}/backchannel-logout"
    config_dir.mkdir(parents=True, exist_ok=True)
    file.write_text(
        "# Written by `idp demo`; the client secret matches the one registered on idp.\n"
        "[panel]\n"
        f'name = "{panel.name}"\n'
        f'issuer = "{issuer}"\n'
        f'client_id = "{panel.client_id}"\n'
        f'client_secret = "{secret}"\n'
        f'base_url = "{base_url}"\n'
        f'cookie_name = "{panel.cookie_name}"\n'
        f'secret_key = "{cookie_secret}"\n'
    )
    file.chmod(0o600)
    return file
