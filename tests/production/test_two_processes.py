"""Two ``idp serve`` processes (A and B) on one PostgreSQL database and one keys directory behave as one provider:
a sign-in may hop between them at every step, and single use, throttling, logout and key rotation hold across them.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from joserfc import jws

from helpers import AuthorizationRequest, decode_id_token, query
from idp.oidc.keys import load_keyring
from production_rig import build_rig
from production_helpers import ISSUER, Journey, count_rows

pytestmark = pytest.mark.e2e

WRONG_CODE = "That code is not valid, or it has expired. Please try again."
WRONG_PASSWORD = "Incorrect username or password."


@pytest.fixture(scope="module")
def rig(tmp_path_factory):
    rig = build_rig(tmp_path_factory.mktemp("two-processes"), people={"pair": (8, True)})
    yield rig
    rig.stop()


@pytest.fixture
def a_and_b(rig):
    return rig.processes[0].url, rig.processes[1].url


def test_a_sign_in_hops_between_processes_at_every_step(rig, a_and_b):
    a, b = a_and_b
    journey = Journey(rig.client, rig.people["pair"][0])
    journey.authorize(a)
    journey.password(b)
    assert "/login/second-factor" in journey.location
    journey.second_factor(a)
    tokens = journey.token(b, journey.code(a))
    claims = decode_id_token(tokens["id_token"], requests.get(b + "/jwks.json", timeout=10).json()).claims
    assert claims["iss"] == ISSUER and claims["nonce"] == journey.authz.nonce
    assert {"pwd", "otp", "mfa"} <= set(claims["amr"])
    info = journey.userinfo(a)
    assert info["sub"] == claims["sub"]
    assert journey.refresh(b)["access_token"] != tokens["access_token"]
    assert journey.userinfo(a)["sub"] == claims["sub"]


def test_a_totp_code_used_on_a_is_refused_on_b(rig, a_and_b):
    a, b = a_and_b
    person = rig.people["pair"][1]
    first, second = Journey(rig.client, person), Journey(rig.client, person)
    for journey in (first, second):
        journey.authorize(a)
        journey.password(b)
    code = person.totp_code()
    first.second_factor(a, code=code)
    refused = second.second_factor(b, code=code, expect=(401,))
    assert WRONG_CODE in refused.text
    assert count_rows(rig.engine, "SELECT count(*) FROM audit_event a JOIN \"user\" u ON u.id = a.subject_id "
                                  "WHERE u.username = :u AND a.event = 'totp_replay_refused'", u=person.username) == 1


def test_failed_passwords_on_a_count_toward_throttling_on_b(rig, a_and_b):
    a, b = a_and_b
    person = rig.people["pair"][2]
    journey = Journey(rig.client, person)
    journey.authorize(a)
    for _ in range(rig.settings.throttle.free_failures):
        assert WRONG_PASSWORD in journey.password(a, password="not the password", expect=(401,)).text
    refused = journey.password(b, expect=(401,))  # the right password, but the name is throttled everywhere
    assert WRONG_PASSWORD in refused.text
    assert count_rows(rig.engine, "SELECT count(*) FROM audit_event WHERE event = 'login_failed' "
                                  "AND details->>'username' = :u AND details->>'reason' = 'throttled'",
                      u=person.username) == 1


def test_logout_on_a_ends_the_session_on_b(rig, a_and_b):
    a, b = a_and_b
    journey = Journey(rig.client, rig.people["pair"][3])
    tokens = journey.sign_in([a, b])
    assert "Signed in" in journey.http.get(b + "/", timeout=10).text
    done = journey.http.get(a + "/logout", params={"id_token_hint": tokens["id_token"]}, timeout=10)
    assert done.status_code == 200
    assert "Not signed in" in journey.http.get(b + "/", timeout=10).text
    journey.authz = AuthorizationRequest(rig.client)  # a new request (a nonce is single use)
    silent = journey.authorize(b, prompt="none")
    assert query(silent.headers["Location"])["error"] == "login_required", silent.headers["Location"]


def test_a_key_rotated_through_a_is_published_and_used_by_b(rig, a_and_b):
    a, b = a_and_b
    env = dict(os.environ, IDP_CONFIG=str(rig.config))
    rotated = subprocess.run([sys.executable, "-m", "idp", "keys", "rotate", "--alg", "RS256"], env=env,
                             capture_output=True, text=True, timeout=60)
    assert rotated.returncode == 0, rotated.stderr
    written = Path(rotated.stdout.split()[1].rstrip(";")).name
    ring = load_keyring(rig.settings.keys.dir)
    new_kid = next(k.kid for k in ring.keys if k.filename == written)
    assert ring.signing_key("RS256", lead_time=0).kid == new_kid  # the rig's rotation_lead_time is 0
    jwks = requests.get(b + "/jwks.json", timeout=10).json()
    assert new_kid in {k["kid"] for k in jwks["keys"]}
    journey = Journey(rig.client, rig.people["pair"][4])
    tokens = journey.sign_in([b])
    assert jws.extract_compact(tokens["id_token"].encode()).protected["kid"] == new_kid
    decode_id_token(tokens["id_token"], requests.get(a + "/jwks.json", timeout=10).json())
