"""Steps of the user journey shared by the end-to-end tests: over HTTP with requests, and by clicking in chromium."""

from __future__ import annotations

import re

import requests

from helpers import csrf_token


def log_in_over_http(browser: requests.Session, stack, panel_url: str) -> requests.Response:
    """Open the panel's "Log in", then send the username and password on idp's page; returns the last response."""
    login_page = browser.get(panel_url + "/login", timeout=10)
    uid = re.search(r'name="uid" value="([^"]+)"', login_page.text).group(1)
    return browser.post(stack.idp + "/login", data={"csrf_token": csrf_token(login_page.text), "uid": uid,
                                                    "username": stack.username, "password": stack.password},
                        timeout=10)


def click_log_in(page, stack, panel_url: str) -> None:
    """Click "Log in" on the panel and sign in with the password on idp's page."""
    page.goto(panel_url + "/")
    page.get_by_role("link", name="Log in").click()
    page.wait_for_url(stack.idp + "/login?uid=*")
    page.get_by_label("Username").fill(stack.username)
    page.get_by_label("Password").fill(stack.password)
    page.get_by_role("button", name="Sign in").click()
