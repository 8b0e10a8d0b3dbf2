"""In chromium with a virtual authenticator: add a key, sign in to RCP with it after the password and to CRI by
single sign-on, sign in without a password, remove the key, and a passkey used on another origin is refused."""

from __future__ import annotations

import pytest

from idp.oidc.logout import wait_for_deliveries

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


def _password_log_in(page, stack, panel_url: str) -> None:
    page.goto(panel_url + "/")
    page.get_by_role("link", name="Log in").click()
    page.wait_for_url(stack.idp + "/login?uid=*")
    page.get_by_label("Username").fill(stack.username)
    page.get_by_label("Password").fill(stack.password)
    page.get_by_role("button", name="Sign in", exact=True).click()


def _add_key(page, stack, name: str = "YubiKey 5") -> None:
    page.goto(stack.idp + "/account/security")
    page.locator("#method-webauthn").get_by_role("link", name="Enable").click()
    page.get_by_label("Current password").fill(stack.password)
    page.get_by_label("Name of the key").fill(name)
    page.get_by_role("button", name="Add key").click()
    page.wait_for_url(stack.idp + "/account/recovery/codes")
    assert page.locator("#recovery-codes li").count() == 10
    page.get_by_role("link", name="Done").click()
    assert name in page.locator("#method-webauthn").inner_text()
    assert "default" in page.locator("#method-webauthn").inner_text()


def _sign_out(page, stack) -> None:
    page.goto(stack.idp + "/")
    page.get_by_role("button", name="Sign out").click()
    wait_for_deliveries(5)


def _signed_in_panel(page, panel_url: str) -> str:
    page.wait_for_url(panel_url + "/")
    text = page.content()
    assert "Dana Example" in text and "urn:idp:acr:mfa" in text
    return text


def test_add_a_key_then_sign_in_to_rcp_with_it_and_to_cri_by_single_sign_on_then_remove_it(stack, page):
    _password_log_in(page, stack, stack.rcp)
    page.wait_for_url(stack.rcp + "/")
    _add_key(page, stack)
    _sign_out(page, stack)

    _password_log_in(page, stack, stack.rcp)  # the second-factor page runs navigator.credentials.get at once
    text = _signed_in_panel(page, stack.rcp)
    assert "<code>pwd</code>" in text and "<code>hwk</code>" in text and "<code>mfa</code>" in text

    page.goto(stack.cri + "/")
    page.get_by_role("link", name="Log in").click()
    assert "<code>hwk</code>" in _signed_in_panel(page, stack.cri)

    page.goto(stack.idp + "/account/security")
    assert "last used" in page.locator("#method-webauthn").inner_text()
    page.locator("#method-webauthn summary", has_text="Remove").click()
    page.locator("#method-webauthn").get_by_label("Current password").fill(stack.password)
    page.get_by_role("button", name="Remove YubiKey 5").click()
    page.wait_for_url(stack.idp + "/account/security")
    assert "Not set up" in page.locator("#method-webauthn").inner_text()
    assert "YubiKey 5" not in page.locator("#method-webauthn").inner_text()


def test_sign_in_with_a_passkey_and_no_password_into_rcp_then_cri(stack, page):
    _password_log_in(page, stack, stack.rcp)
    page.wait_for_url(stack.rcp + "/")
    _add_key(page, stack, "Laptop")
    _sign_out(page, stack)

    page.goto(stack.rcp + "/")
    page.get_by_role("link", name="Log in").click()
    page.wait_for_url(stack.idp + "/login?uid=*")
    page.get_by_role("button", name="Sign in with a passkey").click()
    text = _signed_in_panel(page, stack.rcp)
    for value in ("hwk", "user", "pin", "mfa"):
        assert f"<code>{value}</code>" in text
    assert "<code>pwd</code>" not in text

    page.goto(stack.cri + "/")
    page.get_by_role("link", name="Log in").click()
    assert "<code>pin</code>" in _signed_in_panel(page, stack.cri)


def test_a_passkey_used_on_another_origin_is_refused(stack, page):
    _password_log_in(page, stack, stack.rcp)
    page.wait_for_url(stack.rcp + "/")
    _add_key(page, stack)
    _sign_out(page, stack)

    page.goto(stack.other_origin + "/login")  # the same idp, reached through another origin (a phishing proxy)
    page.get_by_role("button", name="Sign in with a passkey").click()
    page.wait_for_load_state()
    assert page.get_by_role("alert").inner_text().startswith("Your passkey did not sign you in.")
    page.goto(stack.rcp + "/")
    assert page.get_by_role("link", name="Log in").count() == 1


def test_without_webauthn_the_second_factor_page_says_so_and_offers_the_other_methods(stack, page):
    _password_log_in(page, stack, stack.rcp)
    page.wait_for_url(stack.rcp + "/")
    _add_key(page, stack)
    _sign_out(page, stack)

    page.add_init_script("delete window.PublicKeyCredential")
    _password_log_in(page, stack, stack.rcp)
    page.wait_for_url(stack.idp + "/login/second-factor*")
    assert page.get_by_text("This browser cannot use security keys or passkeys").is_visible()
    assert not page.get_by_role("button", name="Use security key").is_visible()
    page.get_by_role("link", name="Use a recovery code").click()
    assert page.get_by_label("Recovery code").is_visible()
