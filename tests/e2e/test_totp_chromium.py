"""In a real browser: enrol an authenticator app by reading the key off the page, sign out, then sign in to RCP
with the password and a code computed by pyotp, and to CRI with no further question (single sign-on)."""

from __future__ import annotations

import time

import pyotp
import pytest

from idp.oidc.logout import wait_for_deliveries
from journeys import click_log_in

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


def test_enrol_app_then_sign_in_to_rcp_and_cri_with_a_code(stack, page):
    click_log_in(page, stack, stack.rcp)
    page.wait_for_url(stack.rcp + "/")

    page.goto(stack.idp + "/account/security")
    page.locator("#method-totp").get_by_role("link", name="Enable").click()
    page.get_by_label("Current password").fill(stack.password)
    page.get_by_role("button", name="Next").click()
    key = page.locator("#totp-key").inner_text().replace(" ", "")
    assert page.locator(".qr svg").count() == 1
    totp = pyotp.TOTP(key)
    page.get_by_label("Code from the app").fill(totp.now())
    page.get_by_role("button", name="Enable").click()
    assert page.locator("#recovery-codes li").count() == 10
    page.get_by_role("link", name="Done").click()
    assert "Enabled" in page.locator("#method-totp").inner_text()

    page.goto(stack.idp + "/")
    page.get_by_role("button", name="Sign out").click()
    wait_for_deliveries(5)
    page.goto(stack.rcp + "/")  # signed out of RCP too: the enrolment kept the session's sid (back-channel logout)
    assert page.get_by_role("link", name="Log in").count() == 1

    click_log_in(page, stack, stack.rcp)
    page.wait_for_url(stack.idp + "/login/second-factor*")
    page.get_by_label("Six-digit code").fill(totp.at(time.time() + 30))  # the next step: the enrolment used this one
    page.get_by_role("button", name="Verify").click()
    page.wait_for_url(stack.rcp + "/")
    assert "mfa" in page.content() and "otp" in page.content()

    page.goto(stack.cri + "/")
    page.get_by_role("link", name="Log in").click()
    page.wait_for_url(stack.cri + "/")
    assert "Dana Example" in page.content()
    assert "urn:idp:acr:mfa" in page.content()
