"""In a real browser: an idp admin signs in with password and authenticator code, opens the admin console from the
settings page, registers a confidential client for a new relying party, copies its id and secret off the page, and
a login through that relying party (a real Authlib OIDC client, started by the test) completes."""

from __future__ import annotations

import secrets
import threading

import pyotp
import pytest
from werkzeug.serving import make_server

from clients.panel import PanelSettings, create_panel_app
from helpers import TEST_PASSWORD
from idp import clock, create_app
from idp.extensions import db
from idp.models import TotpCredential
from idp.security.crypto import encrypt
from idp.users import create_user

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

TOTP_SECRET = pyotp.random_base32()


@pytest.fixture
def admin_ada(stack, settings):
    """An idp admin with an enrolled authenticator app, in the stack's database."""
    app = create_app(settings.replace(issuer=stack.idp))
    with app.app_context():
        ada = create_user(account="Operations", username="ada", email="ada@idp.example", password=TEST_PASSWORD,
                          display_name="Ada Admin", role="admin")
        db.session.add(TotpCredential(user_id=ada.id, secret_encrypted=encrypt(TOTP_SECRET), confirmed_at=clock.now()))
        ada.default_method = "totp"
        db.session.commit()
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def relying_party():
    """A server on a free loopback port whose app (a panel for the new client) is attached once it is known."""
    server = make_server("127.0.0.1", 0, None, threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)

    def start(client_id: str, client_secret: str, issuer: str) -> None:
        server.app = create_panel_app(PanelSettings(
            name="Billing", issuer=issuer, client_id=client_id, client_secret=client_secret, base_url=url,
            cookie_name="billing_session", secret_key=secrets.token_urlsafe(24)))
        thread.start()

    yield url, start
    if thread.is_alive():
        server.shutdown()
    server.server_close()


def test_admin_registers_a_client_in_the_console_and_a_login_through_it_completes(stack, page, admin_ada,
                                                                                   relying_party):
    rp_url, start_rp = relying_party
    page.goto(stack.idp + "/login")
    page.get_by_label("Username").fill("ada")
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(stack.idp + "/login/second-factor*")
    page.get_by_label("Six-digit code").fill(pyotp.TOTP(TOTP_SECRET).now())
    page.get_by_role("button", name="Verify").click()
    page.wait_for_url(lambda url: "/login" not in url)

    page.goto(stack.idp + "/account/security")
    page.get_by_role("link", name="Admin console").click()
    page.get_by_role("link", name="Clients", exact=True).first.click()
    page.get_by_role("link", name="Register a client").click()
    page.get_by_label("Name", exact=True).fill("Billing")
    page.get_by_label("Redirect URIs (one per line, matched exactly)").fill(f"{rp_url}/callback")
    page.get_by_label("Post-logout redirect URIs (one per line, optional)").fill(f"{rp_url}/")
    page.get_by_role("button", name="Register client").click()

    page.wait_for_url(stack.idp + "/admin/clients/*/secret")
    assert "Copy the secret now" in page.content()
    client_id = page.locator("#client-id").inner_text().strip()
    client_secret = page.locator("#client-secret").inner_text().strip()
    assert len(client_secret) >= 40 and page.get_by_role("button", name="Copy secret").is_visible()
    page.reload()
    assert page.locator("#client-secret").count() == 0  # shown once

    page.goto(stack.idp + "/admin/clients")
    row = page.locator(f"#client-{client_id}")
    assert "Billing" in row.inner_text() and "client_secret_basic" in row.inner_text()

    start_rp(client_id, client_secret, stack.idp)
    page.goto(rp_url + "/")
    page.get_by_role("link", name="Log in").click()
    page.wait_for_url(stack.idp + "/consent/*")  # registered as not trusted: its users are asked once
    page.get_by_role("button", name="Allow").click()
    page.wait_for_url(rp_url + "/")
    assert "Signed in as" in page.content() and "Ada Admin" in page.content()
    assert "urn:idp:acr:mfa" in page.content()
