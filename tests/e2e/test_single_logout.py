"""Single logout across the panels over real HTTP and in chromium: "Log out" in one panel is RP-Initiated Logout
1.0 at idp, whose Back-Channel Logout 1.0 tokens sign the user out of the other panel too (SECURITY.md SES-5).
Each direction is tested, and idp's own "Sign out"."""

from __future__ import annotations

import re

import pytest
import requests

from helpers import csrf_token
from journeys import click_log_in, log_in_over_http
from idp.oidc.logout import wait_for_deliveries

pytestmark = pytest.mark.e2e

SIGNED_OUT = "You have been signed out of all reseller applications."


def _log_in(browser: requests.Session, stack, panel_url: str) -> None:
    home = log_in_over_http(browser, stack, panel_url)
    assert home.url.rstrip("/") == panel_url and "Dana Example" in home.text


def _single_sign_on(browser: requests.Session, panel_url: str) -> None:
    home = browser.get(panel_url + "/login", timeout=10)
    assert home.url.rstrip("/") == panel_url and "Dana Example" in home.text


def _signed_out(browser: requests.Session, url: str) -> bool:
    html = browser.get(url + "/", timeout=10).text
    return ">Log in<" in html and "Signed in as" not in html


@pytest.mark.parametrize("direction", ["rcp then cri", "cri then rcp"])
def test_log_out_of_one_panel_signs_out_of_the_other(stack, direction):
    first, second = (stack.rcp, stack.cri) if direction.startswith("rcp") else (stack.cri, stack.rcp)
    browser = requests.Session()
    _log_in(browser, stack, first)
    _single_sign_on(browser, second)

    home = browser.get(first + "/", timeout=10)
    back = browser.post(first + "/logout", data={"csrf_token": csrf_token(home.text)}, timeout=10)
    assert back.url.startswith(first + "/?state=") and SIGNED_OUT in back.text
    idp_hop = next(r for r in back.history if r.url.startswith(stack.idp + "/logout?"))
    assert idp_hop.status_code == 302  # the hint was trusted: no confirmation page
    wait_for_deliveries()
    assert _signed_out(browser, second)
    assert _signed_out(browser, first)
    assert "Not signed in" in browser.get(stack.idp + "/", timeout=10).text


def test_signing_out_on_idp_signs_out_of_both_panels(stack):
    browser = requests.Session()
    _log_in(browser, stack, stack.rcp)
    _single_sign_on(browser, stack.cri)
    page = browser.get(stack.idp + "/logout", timeout=10)
    assert "Sign out of all reseller applications?" in page.text
    done = browser.post(stack.idp + "/logout", data={"csrf_token": csrf_token(page.text), "confirm": "yes"},
                        timeout=10)
    assert "You are signed out" in done.text
    wait_for_deliveries()
    assert _signed_out(browser, stack.rcp) and _signed_out(browser, stack.cri)


# In chromium, clicking as a person would


def _log_in_to_both(page, stack, first: str, second: str) -> None:
    click_log_in(page, stack, first)
    page.wait_for_url(first + "/")
    page.goto(second + "/")
    page.get_by_role("link", name="Log in").click()
    page.wait_for_url(second + "/")
    assert "Dana Example" in page.content()


@pytest.mark.browser
def test_click_log_out_in_one_panel_and_find_the_other_signed_out(stack, page):
    for first, second in ((stack.rcp, stack.cri), (stack.cri, stack.rcp)):
        _log_in_to_both(page, stack, first, second)
        page.goto(first + "/")
        page.get_by_role("button", name="Log out").click()
        page.wait_for_url(re.compile(re.escape(first) + r"/\?state=.+"))
        assert page.get_by_role("status").inner_text() == SIGNED_OUT
        wait_for_deliveries()
        page.goto(second + "/")
        assert page.get_by_role("link", name="Log in").is_visible()
        assert "Dana Example" not in page.content()
