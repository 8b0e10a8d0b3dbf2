"""Security-key tests run with an issuer that has a host name: browsers refuse WebAuthn for IP addresses.

For the real-browser tests: idp on ``http://localhost:<port>`` with RCP and CRI on 127.0.0.1 (real servers on free
ports, as in tests/e2e), and chromium with a CDP virtual authenticator (CTAP2, internal, resident keys, user
verification).
"""

from __future__ import annotations

import secrets
import shutil
import threading
from dataclasses import dataclass

import pytest
from werkzeug.serving import make_server

from helpers import TEST_PASSWORD, reset_schema
from webauthn_helpers import ISSUER


@pytest.fixture
def settings(settings):
    """idp on a host name (browsers refuse WebAuthn on an IP address); the panels on 127.0.0.1 (local back-channel
    logout URIs are a development setting)."""
    settings = settings.replace(clients={"allow_local_uris": True})
    return settings.replace(issuer=ISSUER) if settings.issuer == "http://127.0.0.1:8000" else settings


@dataclass
class Stack:
    idp: str
    rcp: str
    cri: str
    #: the same idp app served on another origin (a phishing proxy's view of it)
    other_origin: str
    username: str = "dana"
    password: str = TEST_PASSWORD


@pytest.fixture
def stack(settings, tmp_path, monkeypatch):
    from clients import panel
    from clients.cri import create_app as create_cri
    from clients.panel import PanelSettings
    from clients.rcp import create_app as create_rcp
    from idp import create_app
    from idp.extensions import db
    from idp.oidc.registration import create_client
    from idp.users import create_user

    monkeypatch.setattr(panel, "LOGOUT_STORE_DIR", str(tmp_path))
    servers = [make_server("127.0.0.1", 0, None, threaded=True) for _ in range(4)]
    idp_url, other_url = (f"http://localhost:{s.server_port}" for s in (servers[0], servers[3]))
    rcp_url, cri_url = (f"http://127.0.0.1:{s.server_port}" for s in servers[1:3])
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
    servers[0].app = servers[3].app = idp_app
    servers[1].app, servers[2].app = create_rcp(panels[0]), create_cri(panels[1])
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    yield Stack(idp=idp_url, rcp=rcp_url, cri=cri_url, other_origin=other_url)
    for server in servers:
        server.shutdown()
        server.server_close()
    with idp_app.app_context():
        db.session.remove()
        db.engine.dispose()


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
VIRTUAL_AUTHENTICATOR = {"protocol": "ctap2", "transport": "internal", "hasResidentKey": True,
                         "hasUserVerification": True, "isUserVerified": True}


@pytest.fixture
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium):
    """A page whose browser has a virtual authenticator (``page.authenticator`` is its CDP id)."""
    context = chromium.new_context()
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    page.cdp = cdp
    page.authenticator = cdp.send("WebAuthn.addVirtualAuthenticator",
                                  {"options": VIRTUAL_AUTHENTICATOR})["authenticatorId"]
    yield page
    context.close()
