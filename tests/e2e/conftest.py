"""Real servers for end-to-end tests: idp, RCP and CRI on free loopback ports, each in a thread, stopped after.

The servers bind first (port 0) so the issuer and redirect URIs can name the real ports; the apps are attached
afterwards. The database is the test database (SQLite file or IDP_TEST_DATABASE_URL) with a clean schema.
"""

from __future__ import annotations

import secrets
import shutil
import threading
from dataclasses import dataclass

import pytest
from playwright.sync_api import sync_playwright
from werkzeug.serving import make_server

from clients.cri import create_app as create_cri
from clients import panel
from clients.panel import PanelSettings
from clients.rcp import create_app as create_rcp
from helpers import TEST_PASSWORD, reset_schema
from idp import create_app
from idp.extensions import db
from idp.oidc.registration import create_client
from idp.users import create_user


@dataclass
class Stack:
    idp: str
    rcp: str
    cri: str
    username: str = "dana"
    password: str = TEST_PASSWORD


def _url(server) -> str:
    return f"http://127.0.0.1:{server.server_port}"


@pytest.fixture
def settings(settings):
    """The relying parties here listen on 127.0.0.1: allow local back-channel logout URIs (development setting)."""
    return settings.replace(clients={"allow_local_uris": True})

@pytest.fixture(autouse=True)
def _panel_logout_stores_in_tmp(tmp_path, monkeypatch):
    """The panels remember back-channel logouts in a file: a temporary one here, never the real instance/."""
    monkeypatch.setattr(panel, "LOGOUT_STORE_DIR", str(tmp_path))


@pytest.fixture
def stack(settings, _panel_logout_stores_in_tmp):
    servers = [make_server("127.0.0.1", 0, None, threaded=True) for _ in range(3)]
    idp_url, rcp_url, cri_url = (_url(s) for s in servers)
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
    servers[1].app = create_rcp(panels[0])
    servers[2].app = create_cri(panels[1])
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in servers]
    for t in threads:
        t.start()
    yield Stack(idp=idp_url, rcp=rcp_url, cri=cri_url)
    for s in servers:
        s.shutdown()
        s.server_close()
    with idp_app.app_context():
        db.session.remove()
        db.engine.dispose()


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


@pytest.fixture
def page():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        context = browser.new_context()
        yield context.new_page()
        context.close()
        browser.close()
