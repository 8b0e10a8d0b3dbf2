"""Security-key tests run with an issuer that has a host name: browsers refuse WebAuthn for IP addresses.

For the real-browser tests: idp on ``http://localhost:<port>`` with RCP and CRI on 127.0.0.1 (real servers on free
ports, as in tests/e2e), and chromium with a CDP virtual authenticator (CTAP2, internal, resident keys, user
verification).
"""

from __future__ import annotations

import pytest

from stack_servers import CHROMIUM, CHROMIUM_ARGS, running_stack
from webauthn_helpers import ISSUER


@pytest.fixture
def settings(settings):
    """idp on a host name (browsers refuse WebAuthn on an IP address); the panels on 127.0.0.1 (local back-channel
    logout URIs are a development setting)."""
    settings = settings.replace(clients={"allow_local_uris": True})
    return settings.replace(issuer=ISSUER) if settings.issuer == "http://127.0.0.1:8000" else settings


@pytest.fixture
def stack(settings, tmp_path, monkeypatch):
    """idp on localhost (and the same app on a second origin), RCP and CRI on 127.0.0.1."""
    from clients import panel

    monkeypatch.setattr(panel, "LOGOUT_STORE_DIR", str(tmp_path))
    with running_stack(settings, idp_host="localhost", other_origin=True) as running:
        yield running


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
