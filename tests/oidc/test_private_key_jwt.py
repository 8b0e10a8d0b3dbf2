"""private_key_jwt (RFC 7523 2.2, 3; OIDC Core 9): a client authenticates with a JWT signed by its own key at the
token, revocation and introspection endpoints; each assertion is accepted once, for idp only, and briefly."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import sqlalchemy as sa
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey

from helpers import AuthorizationRequest, b64url, race
from idp.extensions import db
from idp.models import UsedClientAssertion
from idp.oidc import client_keys
from idp.oidc.registration import ClientError, create_client

ISSUER = "http://127.0.0.1:8000"
TOKEN_URL = ISSUER + "/token"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


@pytest.fixture(autouse=True)
def _fresh_key_cache():
    client_keys.forget_cached()
    yield
    client_keys.forget_cached()


@pytest.fixture
def key() -> RSAKey:
    return RSAKey.generate_key(2048, auto_kid=True)


@pytest.fixture
def jwt_client(make_client, key):
    return make_client(token_endpoint_auth_method="private_key_jwt", jwks={"keys": [key.as_dict(private=False)]})


def assertion(key, client_id: str, *, aud=TOKEN_URL, lifetime: int = 60, alg: str = "RS256", drop=(), **claims):
    now = int(time.time())
    body = {"iss": client_id, "sub": client_id, "aud": aud, "iat": now, "exp": now + lifetime,
            "jti": secrets.token_urlsafe(16), **claims}
    for name in drop:
        body.pop(name)
    return jwt.encode({"alg": alg, "kid": key.kid}, body, key)



def auth(value: str) -> dict:
    return {"client_assertion_type": ASSERTION_TYPE, "client_assertion": value}


def exchange(client, browser, user, jwt_client, value: str, **extra):
    authz = AuthorizationRequest(jwt_client)
    code = browser.code(authz, user.username, "a long test passphrase")
    return client.post("/token", data={**authz.token_form(code), **auth(value), **extra})


def assert_invalid_client(response) -> None:
    assert response.status_code in (400, 401), (response.status_code, response.get_data(as_text=True))
    assert response.get_json()["error"] == "invalid_client"


def test_a_signed_assertion_authenticates_at_the_token_endpoint(client, browser, user, jwt_client, key):
    response = exchange(client, browser, user, jwt_client, assertion(key, jwt_client.client_id))
    assert response.status_code == 200, response.get_json()
    assert {"access_token", "id_token", "refresh_token"} <= set(response.get_json())


def test_the_issuer_is_also_a_valid_audience(client, browser, user, jwt_client, key):
    response = exchange(client, browser, user, jwt_client, assertion(key, jwt_client.client_id, aud=[ISSUER]))
    assert response.status_code == 200, response.get_json()


def test_an_ec_key_works_too(client, browser, user, make_client):
    ec = ECKey.generate_key("P-256", auto_kid=True)
    rp = make_client(token_endpoint_auth_method="private_key_jwt", jwks={"keys": [ec.as_dict(private=False)]})
    response = exchange(client, browser, user, rp, assertion(ec, rp.client_id, alg="ES256"))
    assert response.status_code == 200, response.get_json()


def test_a_replayed_assertion_is_refused(client, browser, user, jwt_client, key):
    value = assertion(key, jwt_client.client_id)
    assert exchange(client, browser, user, jwt_client, value).status_code == 200
    assert_invalid_client(exchange(client, browser, user, jwt_client, value))
    assert db.session.scalar(sa.select(sa.func.count()).select_from(UsedClientAssertion)) == 1


@pytest.mark.parametrize("changes", [
    {"aud": "https://other.example/token"},
    {"aud": ISSUER + "/introspect"},
    {"lifetime": -120},  # expired (beyond the 30 s leeway)
    {"lifetime": 3600},  # not short-lived
    {"drop": ("exp",)},
    {"drop": ("jti",)},
    {"drop": ("aud",)},
    {"iss": "someone-else"},
    {"jti": ""},
    {"jti": "x" * 300},
], ids=["foreign-aud", "other-endpoint-aud", "expired", "long-lived", "no-exp", "no-jti", "no-aud", "iss-not-sub",
        "empty-jti", "long-jti"])
def test_assertions_breaking_a_claim_rule_are_refused(client, browser, user, jwt_client, key, changes):
    assert_invalid_client(exchange(client, browser, user, jwt_client, assertion(key, jwt_client.client_id, **changes)))


def test_an_assertion_signed_with_another_key_is_refused(client, browser, user, jwt_client):
    other = RSAKey.generate_key(2048, auto_kid=True)
    assert_invalid_client(exchange(client, browser, user, jwt_client, assertion(other, jwt_client.client_id)))


def test_symmetric_and_unsigned_assertions_are_refused(client, browser, user, jwt_client, key):
    now = int(time.time())
    claims = {"iss": jwt_client.client_id, "sub": jwt_client.client_id, "aud": TOKEN_URL, "exp": now + 60,
              "jti": "hs"}
    signing_input = f"{b64url(json.dumps({'alg': 'HS256', 'kid': key.kid}).encode())}.{b64url(json.dumps(claims).encode())}"
    mac = hmac.new(key.as_pem(private=False), signing_input.encode(), hashlib.sha256).digest()
    forged = f"{signing_input}.{b64url(mac)}"  # RS/HS confusion: the public key text as an HMAC secret
    assert_invalid_client(exchange(client, browser, user, jwt_client, forged))
    unsigned = assertion(key, jwt_client.client_id).rsplit(".", 1)[0] + "."
    assert_invalid_client(exchange(client, browser, user, jwt_client, unsigned))


@pytest.mark.parametrize("value", ["abc", "a.b.c", "x" * 9000, "eyJhbGciOiJSUzI1NiJ9.W10.c2ln"])
def test_malformed_assertions_get_invalid_client_not_a_500(client, jwt_client, value):
    response = client.post("/token", data={"grant_type": "authorization_code", "code": "x", **auth(value)})
    assert_invalid_client(response)


def test_a_client_id_parameter_must_name_the_same_client(client, browser, user, jwt_client, key, make_client):
    other = make_client(name="Other")
    response = exchange(client, browser, user, jwt_client, assertion(key, jwt_client.client_id),
                        client_id=other.client_id)
    assert_invalid_client(response)


def test_a_secret_client_cannot_use_an_assertion_and_a_jwt_client_has_no_secret(client, browser, user, rp, key,
                                                                                  jwt_client):
    rp_key = RSAKey.generate_key(2048, auto_kid=True)
    assert_invalid_client(exchange(client, browser, user, rp, assertion(rp_key, rp.client_id)))
    assert jwt_client.client_secret_hash is None and jwt_client.secret is None


def test_revocation_and_introspection_accept_an_assertion(client, browser, user, jwt_client, key):
    tokens = exchange(client, browser, user, jwt_client, assertion(key, jwt_client.client_id)).get_json()
    introspected = client.post("/introspect", data={"token": tokens["access_token"],
                                                    **auth(assertion(key, jwt_client.client_id))})
    assert introspected.status_code == 200 and introspected.get_json()["active"] is True
    replay = assertion(key, jwt_client.client_id)
    assert client.post("/revoke", data={"token": tokens["refresh_token"], **auth(replay)}).status_code == 200
    assert_invalid_client(client.post("/introspect", data={"token": tokens["access_token"], **auth(replay)}))
    again = client.post("/introspect", data={"token": tokens["access_token"],
                                             **auth(assertion(key, jwt_client.client_id))})
    assert again.get_json()["active"] is False


def test_two_concurrent_uses_of_one_assertion_have_one_winner(app, jwt_client, key):
    value = assertion(key, jwt_client.client_id)
    clients = [app.test_client() for _ in range(4)]
    results = race(app, clients, lambda c: c.post("/introspect", data={"token": "unknown", **auth(value)}))
    assert sorted(status for status, _ in results) == [200, 400, 400, 400], results
    assert sum("used before" in body for _, body in results) == 3


def test_expired_jtis_are_forgotten(app, jwt_client, key, client):
    from idp.oidc.client_auth import consume_jti
    assert consume_jti(jwt_client.client_id, "old", int(time.time()) - 10)
    db.session.commit()
    value = assertion(key, jwt_client.client_id)
    assert client.post("/introspect", data={"token": "x", **auth(value)}).status_code == 200
    jtis = db.session.scalars(sa.select(UsedClientAssertion.jti)).all()
    assert "old" not in jtis and len(jtis) == 1


def test_discovery_advertises_private_key_jwt_and_its_algorithms(client):
    metadata = client.get("/.well-known/openid-configuration").get_json()
    for endpoint in ("token", "revocation", "introspection"):
        assert "private_key_jwt" in metadata[f"{endpoint}_endpoint_auth_methods_supported"]
        algs = metadata[f"{endpoint}_endpoint_auth_signing_alg_values_supported"]
        assert "RS256" in algs and "ES256" in algs and not any(a.startswith("HS") or a == "none" for a in algs)


# --- keys from a jwks_uri ---------------------------------------------------------------------------------------

class _JwksServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, body: bytes):
        super().__init__(("127.0.0.1", 0), _JwksHandler)
        self.body, self.hits = body, 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_port}/jwks.json"


class _JwksHandler(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802
        self.server.hits += 1
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.server.body)))
        self.end_headers()
        self.wfile.write(self.server.body)

    def log_message(self, *args):
        pass


@pytest.fixture
def serve_jwks():
    servers = []

    def start(body: bytes) -> _JwksServer:
        server = _JwksServer(body)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.mark.settings(clients={"allow_local_uris": True})
def test_keys_are_fetched_from_the_jwks_uri(client, browser, user, make_client, key, serve_jwks):
    server = serve_jwks(json.dumps({"keys": [key.as_dict(private=False)]}).encode())
    rp = make_client(token_endpoint_auth_method="private_key_jwt", jwks_uri=server.url)
    assert exchange(client, browser, user, rp, assertion(key, rp.client_id)).status_code == 200
    assert exchange(client, browser, user, rp, assertion(key, rp.client_id)).status_code == 200
    assert server.hits == 1  # cached for a while


@pytest.mark.settings(clients={"allow_local_uris": True})
def test_an_oversized_or_private_jwks_document_is_refused(client, browser, user, make_client, key, serve_jwks):
    big = serve_jwks(b'{"keys": [], "pad": "' + b"x" * 70000 + b'"}')
    rp = make_client(token_endpoint_auth_method="private_key_jwt", jwks_uri=big.url)
    assert_invalid_client(exchange(client, browser, user, rp, assertion(key, rp.client_id)))
    leaked = serve_jwks(json.dumps({"keys": [key.as_dict(private=True)]}).encode())
    rp2 = make_client(name="Two", token_endpoint_auth_method="private_key_jwt", jwks_uri=leaked.url)
    assert_invalid_client(exchange(client, browser, user, rp2, assertion(key, rp2.client_id)))


def test_a_local_jwks_uri_is_refused_without_the_development_setting(app):
    with pytest.raises(ClientError, match="jwks_uri: must use https"):
        create_client(name="X", redirect_uris=["https://x.example/cb"], token_endpoint_auth_method="private_key_jwt",
                      jwks_uri="http://127.0.0.1:9/jwks.json")
    with pytest.raises(ClientError, match="jwks_uri: must not point at a loopback"):
        create_client(name="X", redirect_uris=["https://x.example/cb"], token_endpoint_auth_method="private_key_jwt",
                      jwks_uri="https://169.254.169.254/latest/meta-data")
