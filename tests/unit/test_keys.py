"""Signing keys: kid on every key, rotation with a lead time, retirement only after tokens expire, file modes."""

from __future__ import annotations

import os
from datetime import timedelta
from unittest import mock

import pytest

from idp import clock, create_app
from idp.oidc.keys import KeysError, ensure_keys, generate_key, load_keyring, retire_key


def _later(seconds):
    return mock.patch("idp.clock.now", return_value=clock.now() + timedelta(seconds=seconds))


def test_each_key_has_a_distinct_thumbprint_kid_and_only_public_parameters(tmp_path):
    ensure_keys(tmp_path)
    jwks = load_keyring(tmp_path).jwks()["keys"]
    assert len({k["kid"] for k in jwks}) == 2
    for key in jwks:
        assert not {"d", "p", "q", "dp", "dq", "qi"} & set(key)
        assert key["use"] == "sig" and key["alg"] in ("RS256", "ES256")


def test_a_rotated_in_key_is_published_at_once_but_signs_only_after_the_lead_time(tmp_path):
    ensure_keys(tmp_path, ("RS256",))
    old = load_keyring(tmp_path).signing_key("RS256", 3600)
    with _later(10):
        generate_key(tmp_path, "RS256")
        ring = load_keyring(tmp_path)
        assert len(ring.jwks()["keys"]) == 2
        assert ring.signing_key("RS256", 3600).kid == old.kid
    with _later(3700):
        assert load_keyring(tmp_path).signing_key("RS256", 3600).kid != old.kid


def test_retire_waits_until_tokens_signed_by_the_old_key_expired(tmp_path):
    ensure_keys(tmp_path, ("RS256",))
    old = load_keyring(tmp_path).signing_key("RS256")
    with pytest.raises(KeysError, match="newest"):
        retire_key(tmp_path, old.kid, 3600, 600)
    with _later(1):
        generate_key(tmp_path, "RS256")
    with _later(3000), pytest.raises(KeysError, match="unexpired"):
        retire_key(tmp_path, old.kid, 3600, 600)
    with _later(4300):
        retire_key(tmp_path, old.kid, 3600, 600)
    assert old.kid not in {k["kid"] for k in load_keyring(tmp_path).jwks()["keys"]}


def test_key_file_readable_by_others_stops_start_up(tmp_path, settings):
    path = generate_key(tmp_path, "RS256")
    os.chmod(path, 0o644)
    with pytest.raises(KeysError, match="chmod 600"):
        create_app(settings.replace(keys={"dir": str(tmp_path)}))


def test_id_token_header_kid_is_the_signing_key_and_in_the_jwks(client, browser, authz, user):
    from joserfc import jws

    from helpers import TEST_PASSWORD

    code = browser.code(authz, "dana", TEST_PASSWORD)
    id_token = client.post("/token", data=authz.token_form(code), headers=authz.basic_auth()).json["id_token"]
    header = jws.extract_compact(id_token.encode()).protected
    assert header["kid"] in {k["kid"] for k in client.get("/jwks.json").json["keys"]}
