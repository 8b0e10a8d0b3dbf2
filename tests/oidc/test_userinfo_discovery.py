"""Userinfo (OIDC Core 5.3), discovery metadata (Discovery 1.0 3, RFC 8414, RFC 9207), the JWKS and ID token
signatures (JWT-1, JWT-5)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import timedelta
from unittest.mock import patch

import pytest
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from helpers import TEST_PASSWORD, AuthorizationRequest, b64url, decode_id_token
from idp import clock

ISSUER = "http://127.0.0.1:8000"
PRIVATE_PARAMS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}



def jwt_parts(token: str) -> tuple[dict, dict]:
    header, payload, _ = token.split(".")
    pad = lambda s: s + "=" * (-len(s) % 4)  # noqa: E731
    return json.loads(base64.urlsafe_b64decode(pad(header))), json.loads(base64.urlsafe_b64decode(pad(payload)))


def redeem(client, browser, authz) -> dict:
    code = browser.code(authz, "dana", TEST_PASSWORD)
    response = client.post("/token", data=authz.token_form(code), headers=authz.basic_auth())
    assert response.status_code == 200, response.json
    return response.json


@pytest.fixture
def tokens(client, browser, authz, user) -> dict:
    return redeem(client, browser, authz)


@pytest.fixture
def metadata(client) -> dict:
    response = client.get("/.well-known/openid-configuration")
    assert response.status_code == 200
    return response.json


@pytest.fixture
def jwks(client) -> dict:
    response = client.get("/jwks.json")
    assert response.status_code == 200
    return response.json


# userinfo

def test_userinfo_by_get_with_bearer_header_returns_the_subject(client, tokens, user):
    response = client.get("/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert response.status_code == 200
    assert response.json["sub"] == user.subject


def test_userinfo_by_post_with_bearer_header_returns_the_subject(client, tokens, user):
    response = client.post("/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert response.status_code == 200
    assert response.json["sub"] == user.subject


def test_userinfo_response_is_not_cacheable(client, tokens):
    response = client.get("/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert response.headers["Cache-Control"] == "no-store"


def test_userinfo_without_token_is_refused_with_401_and_www_authenticate(client, tokens):
    response = client.get("/userinfo")
    assert response.status_code == 401
    assert response.headers.get("WWW-Authenticate", "").lower().startswith("bearer")


def test_userinfo_with_garbage_token_is_refused_with_401(client, tokens):
    response = client.get("/userinfo", headers={"Authorization": "Bearer not-a-token"})
    assert response.status_code == 401
    assert "invalid_token" in response.headers.get("WWW-Authenticate", "")


def test_userinfo_with_overlong_token_is_refused_with_401(client, tokens):
    response = client.get("/userinfo", headers={"Authorization": "Bearer " + "a" * 5000})
    assert response.status_code == 401


def test_userinfo_with_non_bearer_scheme_is_refused_with_401(client, tokens):
    response = client.get("/userinfo", headers={"Authorization": f"Basic {tokens['access_token']}"})
    assert response.status_code == 401


def test_userinfo_with_id_token_as_access_token_is_refused_with_401(client, tokens):
    response = client.get("/userinfo", headers={"Authorization": f"Bearer {tokens['id_token']}"})
    assert response.status_code == 401


def test_userinfo_with_refresh_token_as_access_token_is_refused_with_401(client, tokens):
    response = client.get("/userinfo", headers={"Authorization": f"Bearer {tokens['refresh_token']}"})
    assert response.status_code == 401


def test_userinfo_with_token_in_query_string_is_refused(client, tokens):
    response = client.get(f"/userinfo?access_token={tokens['access_token']}")
    assert response.status_code == 401


def test_userinfo_with_expired_access_token_is_refused_with_401(client, tokens, settings):
    later = clock.now() + timedelta(seconds=settings.tokens.access_token_lifetime + 1)
    with patch("idp.clock.now", return_value=later):
        response = client.get("/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert response.status_code == 401


def test_userinfo_with_openid_scope_only_releases_no_email_or_name(client, browser, rp, user):
    tokens = redeem(client, browser, AuthorizationRequest(rp, scope="openid"))
    info = client.get("/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}).json
    assert info["sub"] == user.subject
    for claim in ("email", "email_verified", "name", "preferred_username"):
        assert claim not in info, claim


def test_id_token_with_openid_scope_only_carries_no_email_or_name(client, browser, rp, user, jwks):
    tokens = redeem(client, browser, AuthorizationRequest(rp, scope="openid"))
    claims = decode_id_token(tokens["id_token"], jwks).claims
    for claim in ("email", "email_verified", "name", "preferred_username"):
        assert claim not in claims, claim


def test_userinfo_with_email_scope_releases_email_but_not_name(client, browser, rp, user):
    tokens = redeem(client, browser, AuthorizationRequest(rp, scope="openid email"))
    info = client.get("/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}).json
    assert info["email"] == user.email
    assert "name" not in info
    assert "preferred_username" not in info


# discovery

def test_discovery_issuer_is_the_configured_issuer(metadata):
    assert metadata["issuer"] == ISSUER


@pytest.mark.parametrize("name", ["authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri"])
def test_discovery_publishes_endpoint_under_the_issuer(metadata, name):
    assert metadata[name].startswith(ISSUER + "/"), metadata.get(name)


def test_discovery_every_endpoint_url_starts_with_the_issuer(metadata):
    urls = {k: v for k, v in metadata.items() if k.endswith(("_endpoint", "_uri")) and isinstance(v, str)}
    assert urls
    for name, url in urls.items():
        assert url.startswith(ISSUER + "/"), (name, url)


def test_discovery_endpoints_are_served_at_their_published_paths(client, metadata):
    for name in ("jwks_uri",):
        assert client.get(metadata[name].removeprefix(ISSUER)).status_code == 200
    assert client.get(metadata["userinfo_endpoint"].removeprefix(ISSUER)).status_code == 401
    assert client.post(metadata["token_endpoint"].removeprefix(ISSUER)).status_code in (400, 401)


def test_discovery_response_types_are_code_only(metadata):
    assert metadata["response_types_supported"] == ["code"]


def test_discovery_subject_types_are_published(metadata):
    assert metadata["subject_types_supported"] == ["public"]


def test_discovery_signing_algorithms_include_rs256_and_es256(metadata):
    algs = metadata["id_token_signing_alg_values_supported"]
    assert "RS256" in algs
    assert "ES256" in algs
    assert "none" not in algs
    assert not any(alg.startswith("HS") for alg in algs)


def test_discovery_code_challenge_methods_are_s256_only(metadata):
    assert metadata["code_challenge_methods_supported"] == ["S256"]


def test_discovery_token_endpoint_auth_methods_are_published(metadata):
    methods = metadata["token_endpoint_auth_methods_supported"]
    assert "client_secret_basic" in methods
    assert "client_secret_post" in methods


def test_discovery_scopes_supported_include_openid(metadata):
    assert "openid" in metadata["scopes_supported"]


def test_discovery_claims_supported_include_sub(metadata):
    assert "sub" in metadata["claims_supported"]


def test_discovery_announces_the_iss_authorization_response_parameter(metadata):
    assert metadata["authorization_response_iss_parameter_supported"] is True


def test_discovery_grant_types_exclude_implicit_and_password(metadata):
    assert "implicit" not in metadata.get("grant_types_supported", [])
    assert "password" not in metadata.get("grant_types_supported", [])


# JWKS and ID token signatures

def test_jwks_keys_each_have_a_unique_kid(jwks):
    kids = [key.get("kid") for key in jwks["keys"]]
    assert kids and all(kids)
    assert len(kids) == len(set(kids))


def test_jwks_holds_no_private_or_symmetric_parameters(jwks):
    for key in jwks["keys"]:
        assert not PRIVATE_PARAMS & set(key), key
        assert key["kty"] in ("RSA", "EC"), key


def test_jwks_holds_an_rsa_and_an_ec_signing_key(jwks):
    assert {key["kty"] for key in jwks["keys"]} == {"RSA", "EC"}


def test_id_token_header_kid_is_published_in_the_jwks(tokens, jwks):
    header, _ = jwt_parts(tokens["id_token"])
    assert header["kid"] in {key["kid"] for key in jwks["keys"]}


def test_id_token_of_a_default_client_is_signed_with_rs256(tokens, jwks):
    header, _ = jwt_parts(tokens["id_token"])
    assert header["alg"] == "RS256"
    decode_id_token(tokens["id_token"], jwks)


def test_id_token_of_an_es256_client_is_signed_with_es256_and_verifies(client, browser, make_client, user, jwks):
    authz = AuthorizationRequest(make_client(id_token_signed_response_alg="ES256"))
    tokens = redeem(client, browser, authz)
    header, _ = jwt_parts(tokens["id_token"])
    assert header["alg"] == "ES256"
    ec_kids = {key["kid"] for key in jwks["keys"] if key["kty"] == "EC"}
    assert header["kid"] in ec_kids
    claims = decode_id_token(tokens["id_token"], jwks).claims
    assert claims["aud"] == [authz.client.client_id]


def test_id_token_with_alg_none_is_rejected_by_the_verifier(tokens, jwks):
    header, payload = jwt_parts(tokens["id_token"])
    forged = ".".join([b64url(json.dumps({"alg": "none", "typ": "JWT"}).encode()),
                       b64url(json.dumps(payload).encode()), ""])
    with pytest.raises(JoseError):
        decode_id_token(forged, jwks)


def test_id_token_with_stripped_signature_is_rejected_by_the_verifier(tokens, jwks):
    header, payload, _ = tokens["id_token"].split(".")
    with pytest.raises(JoseError):
        decode_id_token(f"{header}.{payload}.", jwks)


def test_hs256_token_signed_with_the_public_key_text_is_rejected_by_the_verifier(tokens, jwks):
    header, payload = jwt_parts(tokens["id_token"])
    key_set = KeySet.import_key_set(jwks)
    public = key_set.get_by_kid(header["kid"])
    pem = public.as_pem(private=False)
    forged_header = b64url(json.dumps({"alg": "HS256", "typ": "JWT", "kid": header["kid"]}).encode())
    signing_input = f"{forged_header}.{b64url(json.dumps(payload).encode())}"
    signature = b64url(hmac.new(pem, signing_input.encode(), hashlib.sha256).digest())
    with pytest.raises(JoseError):
        decode_id_token(f"{signing_input}.{signature}", jwks)


def test_id_token_with_tampered_payload_is_rejected_by_the_verifier(tokens, jwks):
    header, payload, signature = tokens["id_token"].split(".")
    claims = jwt_parts(tokens["id_token"])[1]
    claims["sub"] = "someone-else"
    with pytest.raises(JoseError):
        decode_id_token(f"{header}.{b64url(json.dumps(claims).encode())}.{signature}", jwks)
