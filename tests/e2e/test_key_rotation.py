"""Signing-key rotation with relying parties that cache the JWKS: the panels keep verifying ID tokens throughout.

With no lead time the new key signs at once, the worst case for a cached JWKS: the panel must fetch the JWKS again
for the unknown ``kid``. With the default lead time the new key is published first and signs later.
"""

from __future__ import annotations

import pytest
import requests

from idp.oidc.keys import generate_key, load_keyring
from journeys import log_in_over_http

pytestmark = pytest.mark.e2e


@pytest.fixture
def rotate(settings):
    """Rotate a new RS256 key into the shared test keys directory on demand; removed afterwards."""
    made = []

    def run():
        made.append(generate_key(settings.keys.dir, "RS256"))
        return load_keyring(settings.keys.dir)

    yield run
    for path in made:
        path.unlink()


@pytest.mark.settings(keys={"rotation_lead_time": 0})
def test_a_panel_that_cached_the_old_jwks_verifies_tokens_of_the_new_key(stack, rotate):
    browser = requests.Session()
    assert "Dana Example" in log_in_over_http(browser, stack, stack.rcp).text  # RCP fetched and cached the JWKS
    new_kid = rotate().signing_key("RS256", 0).kid  # signs at once: the worst case for a cached JWKS
    for cookie in [c for c in browser.cookies if c.name == "rcp_session"]:  # RCP forgets the user; idp stays
        browser.cookies.clear(cookie.domain, cookie.path, cookie.name)
    home = browser.get(stack.rcp + "/login", timeout=10)  # single sign-on: a new ID token, signed by new_kid
    assert home.url.rstrip("/") == stack.rcp and "Dana Example" in home.text
    jwks = requests.get(stack.idp + "/jwks.json", timeout=10).json()
    assert new_kid in {k["kid"] for k in jwks["keys"]}


def test_a_rotated_in_key_is_published_before_it_signs(stack, settings, rotate):
    browser = requests.Session()
    assert "Dana Example" in log_in_over_http(browser, stack, stack.rcp).text
    old_kid = load_keyring(settings.keys.dir).signing_key("RS256", settings.keys.rotation_lead_time).kid
    ring = rotate()
    assert ring.signing_key("RS256", settings.keys.rotation_lead_time).kid == old_kid  # still in its lead time
    published = {k["kid"] for k in requests.get(stack.idp + "/jwks.json", timeout=10).json()["keys"]}
    assert {k.kid for k in ring.keys} <= published
    assert "Dana Example" in browser.get(stack.cri + "/login", timeout=10).text
