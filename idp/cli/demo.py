"""``idp demo``: set up the embedded demo (config, database, keys, seed) and serve idp, RCP and CRI together.

Everything it writes is under ``instance/`` and ``keys/``; running it again reuses what is there. Ctrl-C stops all
three servers.
"""

from __future__ import annotations

import signal
import threading
from pathlib import Path

import click
from cryptography.fernet import Fernet
from werkzeug.serving import make_server

from ..app import create_app
from ..config import DEFAULT_CONFIG_PATH, load_settings
from ..db import resolve_database_url
from ..extensions import db
from ..migrations import upgrade
from ..oidc.keys import ensure_keys
from ..security.tokens import new_secret
from ..seed import DEMO_PASSWORD, DEMO_USERNAME, PANELS, seed_demo_user, seed_panel

INSTANCE = Path("instance")


def write_demo_config(path: Path = DEFAULT_CONFIG_PATH) -> None:
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "# Written by `idp demo` for the embedded demo; see config.example.toml for every key.\n"
        "demo = true\n"
        'issuer = "http://localhost:8000"\n'  # a host name: browsers refuse WebAuthn on an IP address
        f'secret_key = "{new_secret(32)}"\n'
        f'client_secret_key = "{new_secret(32)}"\n\n'
        "[mfa]\n"
        f'encryption_key = "{Fernet.generate_key().decode()}"\n\n'
        "[database]\n"
        'url = "sqlite:///instance/idp.sqlite3"\n\n'
        "[keys]\n"
        'dir = "keys"\n\n'
        "[clients]\n"
        "# the panels listen on 127.0.0.1: their back-channel logout URIs are local (development only)\n"
        "allow_local_uris = true\n\n"
        "[logging]\n"
        'format = "text"\n'
    )
    path.chmod(0o600)


def prepare_demo() -> list[Path]:
    """Config, schema, keys and seed data; returns the panel config files."""
    write_demo_config()
    settings = load_settings()
    upgrade(resolve_database_url(settings.database.url))
    ensure_keys(settings.keys.dir)
    app = create_app(settings)
    with app.app_context():
        seed_demo_user()
        files = [seed_panel(panel, settings.issuer, INSTANCE) for panel in PANELS]
        db.session.commit()
    return files


def panel_apps() -> list:
    from clients.cri import create_app as create_cri
    from clients.rcp import create_app as create_rcp

    return [create_rcp(), create_cri()]


@click.command()
@click.option("--setup-only", is_flag=True, help="Prepare everything but do not start the servers.")
def demo(setup_only: bool):
    """Prepare the demo and run idp (:8000), RCP (:8001) and CRI (:8002)."""
    prepare_demo()
    if setup_only:
        click.echo("demo is set up")
        return
    settings = load_settings()
    servers = [make_server("127.0.0.1", settings.server.port, create_app(settings), threaded=True)]
    servers += [make_server("127.0.0.1", panel.port, app, threaded=True) for panel, app in zip(PANELS, panel_apps())]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    click.echo(f"\n  idp                         {settings.issuer}")
    for panel in PANELS:
        click.echo(f"  {panel.name:<28}http://127.0.0.1:{panel.port}")
    click.echo(f"\n  demo login: username {DEMO_USERNAME!r}, password {DEMO_PASSWORD!r}")
    click.echo("  Ctrl-C stops all three.\n")
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    click.echo("stopping idp, RCP and CRI")
    for server in servers:
        server.shutdown()
        server.server_close()
