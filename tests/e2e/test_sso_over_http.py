"""The user journey over real HTTP: log in to RCP on idp's page, then open CRI and be signed in without a password."""

from __future__ import annotations

import re

import pytest
import requests

from helpers import csrf_token

pytestmark = pytest.mark.e2e


def _follow_to_login_page(session: requests.Session, start: str) -> requests.Response:
    response = session.get(start, timeout=10)
    assert response.status_code == 200
    return response


def test_login_to_rcp_then_single_sign_on_into_cri(stack):
    browser = requests.Session()
    home = browser.get(stack.rcp + "/", timeout=10)
    assert "Log in" in home.text
    login_page = _follow_to_login_page(browser, stack.rcp + "/login")
    assert login_page.url.startswith(stack.idp + "/login?uid=")
    assert 'autocomplete="current-password"' in login_page.text
    uid = re.search(r'name="uid" value="([^"]+)"', login_page.text).group(1)
    signed_in = browser.post(stack.idp + "/login", data={
        "csrf_token": csrf_token(login_page.text), "uid": uid,
        "username": stack.username, "password": stack.password,
    }, timeout=10)
    assert signed_in.url.rstrip("/") == stack.rcp, signed_in.url
    assert "Dana Example" in signed_in.text
    assert "pwd" in signed_in.text  # the amr the panel received

    cri = browser.get(stack.cri + "/login", timeout=10)
    assert cri.url.rstrip("/") == stack.cri, "CRI should sign in without showing idp's login page"
    assert all(stack.idp + "/login" not in r.url for r in cri.history)
    assert "Dana Example" in cri.text


def test_wrong_password_keeps_the_user_on_idp_with_one_message(stack):
    browser = requests.Session()
    login_page = _follow_to_login_page(browser, stack.rcp + "/login")
    uid = re.search(r'name="uid" value="([^"]+)"', login_page.text).group(1)
    response = browser.post(stack.idp + "/login", data={
        "csrf_token": csrf_token(login_page.text), "uid": uid, "username": stack.username, "password": "wrong one",
    }, timeout=10)
    assert response.status_code == 401
    assert "Incorrect username or password." in response.text
    assert browser.get(stack.cri + "/", timeout=10).text.count("Log in") >= 1


def test_discovery_served_over_http_names_the_real_issuer(stack):
    metadata = requests.get(stack.idp + "/.well-known/openid-configuration", timeout=10).json()
    assert metadata["issuer"] == stack.idp
    assert metadata["token_endpoint"] == stack.idp + "/token"
