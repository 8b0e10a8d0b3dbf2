"""Real servers for browser and end-to-end tests: idp, RCP and CRI on free loopback ports, each in a thread.

The servers bind first (port 0) so the issuer and redirect URIs can name the real ports; the apps are attached
afterwards. The database is the test database (SQLite file or IDP_TEST_DATABASE_URL) with a clean schema, holding
the user dana and the two panels as trusted clients. Used by tests/e2e and tests/webauthn (their ``stack`` fixtures).
"""

from __future__ import annotations

import secrets
import shutil
import threading
from contextlib import contextmanager
from dataclasses import dataclass

from werkzeug.serving import make_server

from clients.cri import create_app as create_cri
from clients.panel import PanelSettings
from clients.rcp import create_app as create_rcp
from helpers import TEST_PASSWORD, reset_schema
from idp import create_app
from idp.extensions import db
from idp.oidc.registration import create_client
from idp.users import create_user

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


@dataclass
class Stack:
    idp: str
    rcp: str
    cri: str
    #: the same idp app served on another origin (a phishing proxy's view of it), when asked for
    other_origin: str | None = None
    username: str = "dana"
    password: str = TEST_PASSWORD


@contextmanager
def running_stack(settings, *, idp_host: str = "127.0.0.1", other_origin: bool = False):
    """Start idp (issuer ``http://<idp_host>:<port>``), RCP and CRI; yield a ``Stack``; stop them all."""
    servers = [make_server("127.0.0.1", 0, None, threaded=True) for _ in range(4 if other_origin else 3)]
    idp_url, rcp_url, cri_url = (f"http://{host}:{s.server_port}"
                                 for host, s in zip((idp_host, "127.0.0.1", "127.0.0.1"), servers))
    other_url = f"http://{idp_host}:{servers[3].server_port}" if other_origin else None
    idp_app = create_app(settings.replace(issuer=idp_url))
    panels = []
    with idp_app.app_context():
        reset_schema()
        create_user(account="Acme Reseller", username="dana", email="dana@acme.example", password=TEST_PASSWORD,
                    display_name="Dana Example")
        for client_id, name, url in (("rcp", "Resellers Control Panel", rcp_url),
                                     ("cri", "Classic Reseller Interface", cri_url)):
            _, secret = create_client(name=name, redirect_uris=[f"{url}/callback"], trusted=True, client_id=client_id,
                                      post_logout_redirect_uris=[f"{url}/"],
                                      backchannel_logout_uri=f"{url}/backchannel-logout")
            panels.append(PanelSettings(name=name, issuer=idp_url, client_id=client_id, client_secret=secret,
                                        base_url=url, cookie_name=f"{client_id}_session",
                                        secret_key=secrets.token_urlsafe(24)))
        db.session.commit()
    servers[0].app = idp_app
    servers[1].app, servers[2].app = create_rcp(panels[0]), create_cri(panels[1])
    if other_origin:
        servers[3].app = idp_app
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield Stack(idp=idp_url, rcp=rcp_url, cri=cri_url, other_origin=other_url)
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()
        with idp_app.app_context():
            db.session.remove()
            db.engine.dispose()
