"""Authenticator app: enrolment through the pages, then a login that asks for the code."""

from __future__ import annotations

import re

import pyotp

from helpers import TEST_PASSWORD, csrf_token, query


def _post(client, url, data):
    page = client.get(url)
    return client.post(url, data={"csrf_token": csrf_token(page.get_data(as_text=True)), **data})


def test_enrol_totp_then_login_asks_for_a_code(client, browser, authz, user):
    browser.code(authz, "dana", TEST_PASSWORD)
    r = _post(client, "/account/totp/enrol", {"password": TEST_PASSWORD})
    assert r.status_code == 303, r.get_data(as_text=True)
    page = client.get(r.location).get_data(as_text=True)
    key = re.search(r'id="totp-key">([A-Z2-7 ]+)<', page).group(1).replace(" ", "")
    assert "<svg" in page
    r = client.post("/account/totp/confirm", data={"csrf_token": csrf_token(page), "code": pyotp.TOTP(key).now()})
    assert r.status_code == 303, r.get_data(as_text=True)
    codes_page = client.get(r.location).get_data(as_text=True)
    assert codes_page.count("<li>") == 10
    # a new browser: password, then the app's code
    fresh = client.application.test_client()
    from helpers import AuthorizationRequest, Browser

    b = Browser(fresh)
    a = AuthorizationRequest(authz.client)
    r = fresh.get(a.url())
    r = b.submit_login(r.location, "dana", TEST_PASSWORD)
    assert r.status_code == 303 and "/login/second-factor" in r.location, r.get_data(as_text=True)
    page = fresh.get(r.location).get_data(as_text=True)
    assert "six-digit" in page.lower()
    import time
    from unittest import mock

    import idp.clock
    later = idp.clock.now().timestamp() + 30
    with mock.patch("idp.clock.now", return_value=idp.clock.datetime.fromtimestamp(later, idp.clock.UTC)):
        code = pyotp.TOTP(key).at(later)
        r = fresh.post("/login/second-factor", data={"csrf_token": csrf_token(page), "method": "totp", "code": code})
        assert r.status_code == 303, r.get_data(as_text=True)
        r = fresh.get(r.location)
    assert r.status_code == 302
    assert "code" in query(r.location)
