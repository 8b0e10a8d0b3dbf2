"""RFC 7591 3.2.2 error responses: 400 JSON ``invalid_redirect_uri`` for a bad redirect URI (RFC 9700 2.1, 4.1.3)
and ``invalid_client_metadata`` for any other field, with the service's message; malformed bodies never give a 500."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from dcr_helpers import METADATA, assert_oauth_error, bearer, register
from idp.extensions import db
from idp.models import Client, RegistrationToken


@pytest.fixture(autouse=True)
def nothing_registered(app):
    yield
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Client)) == 0
    assert db.session.scalar(sa.select(sa.func.sum(RegistrationToken.uses))) in (0, None)


@pytest.mark.parametrize("uri", ["http://partner.example/cb", "https://partner.example/cb#frag",
                                 "https://*.partner.example/cb", "https://partner.example/*", "/relative/cb",
                                 "https://user:pw@partner.example/cb", "http://partner.example/it's\"\\",
                                 "http://exämple.test/cb", "https://[::1/cb"])
def test_a_bad_redirect_uri_is_invalid_redirect_uri(client, initial_token, uri):
    body = assert_oauth_error(register(client, initial_token, redirect_uris=[uri]), 400, "invalid_redirect_uri")
    assert body["error_description"].startswith("redirect_uris:")


def test_missing_redirect_uris_is_invalid_redirect_uri(client, initial_token):
    response = client.post("/register", json={"client_name": "No URIs"}, headers=bearer(initial_token))
    assert_oauth_error(response, 400, "invalid_redirect_uri")


@pytest.mark.parametrize("changes, field", [
    ({"grant_types": ["authorization_code", "password"]}, "grant_types"),
    ({"grant_types": ["client_credentials"]}, "grant_types"),
    ({"response_types": ["token"]}, "response_types"),
    ({"response_types": ["code", "id_token"]}, "response_types"),
    ({"token_endpoint_auth_method": "private_key_jwt"}, "token_endpoint_auth_method"),
    ({"scope": "openid admin"}, "scope"),
    ({"scope": "profile"}, "scope"),
    ({"id_token_signed_response_alg": "none"}, "id_token_signed_response_alg"),
    ({"client_name": ""}, "client_name"),
    ({"client_name": "x" * 201}, "client_name"),
    ({"post_logout_redirect_uris": ["http://partner.example/bye"]}, "post_logout_redirect_uris"),
    ({"backchannel_logout_uri": "https://partner.example/bc#x"}, "backchannel_logout_uri"),
    ({"redirect_uris": "http://127.0.0.1:9100/callback"}, "redirect_uris"),
    ({"redirect_uris": [7]}, "redirect_uris"),
    ({"scope": ["openid"]}, "scope"),
    ({"client_name": {"en": "x"}}, "client_name"),
    ({"backchannel_logout_uri": "https://partner.example/" + "a" * 2000}, "backchannel_logout_uri"),
])
def test_other_bad_metadata_is_invalid_client_metadata_naming_the_field(client, initial_token, changes, field):
    body = assert_oauth_error(register(client, initial_token, **changes), 400, "invalid_client_metadata")
    assert body["error_description"].startswith(field), body


@pytest.mark.parametrize("data, content_type", [
    (b'{"client_name": "x", ', "application/json"),
    (b'["http://127.0.0.1:9100/callback"]', "application/json"),
    (b'"a string"', "application/json"),
    (b"null", "application/json"),
    (b"", "application/json"),
    (b"\xff\xfe\x00garbage", "application/json"),
    (b"[" * 50_000 + b"]" * 10_000, "application/json"),
    (b"client_name=x&redirect_uris=http://127.0.0.1:9100/callback", "application/x-www-form-urlencoded"),
], ids=["truncated", "array", "string", "null", "empty", "not-utf8", "deeply-nested", "form"])
def test_a_body_that_is_not_a_json_object_is_invalid_client_metadata(client, initial_token, data, content_type):
    response = client.post("/register", data=data, content_type=content_type, headers=bearer(initial_token))
    assert_oauth_error(response, 400, "invalid_client_metadata")


def test_a_huge_body_is_invalid_client_metadata(client, initial_token):
    payload = {**METADATA, "padding": "x" * 200_000}
    assert_oauth_error(register(client, initial_token, **payload), 400, "invalid_client_metadata")


def test_the_token_is_checked_before_the_body(client):
    response = client.post("/register", data=b"not json", content_type="application/json")
    assert_oauth_error(response, 401, "invalid_token")


def test_other_methods_get_json_errors(client):
    response = client.get("/register")
    assert response.status_code == 405 and response.get_json()["error"] == "invalid_request"
