"""Discovery and the JWKS are built once per process and served from memory, rebuilt when the keys directory
changes (whoever changed it), with caching headers for relying parties and the usual security headers."""

from __future__ import annotations

import os

import pytest

from idp import create_app
from idp.extensions import db
from idp.oidc import views
from idp.oidc.keys import ensure_keys, generate_key, retire_key


@pytest.fixture
def own_keys(settings, tmp_path):
    """An app with a keys directory of its own (the session's shared one must not change)."""
    keys = tmp_path / "keys"
    ensure_keys(keys)
    app = create_app(settings.replace(keys={"dir": str(keys)}))
    with app.app_context():
        yield app.test_client(), keys
        db.engine.dispose()


def kids(client) -> set[str]:
    return {k["kid"] for k in client.get("/jwks.json").json["keys"]}


@pytest.mark.parametrize("path, max_age", [("/.well-known/openid-configuration", 3600), ("/jwks.json", 300)])
def test_documents_may_be_cached_publicly_and_keep_security_headers(client, path, max_age):
    response = client.get(path)
    assert response.status_code == 200 and response.is_json
    assert response.headers["Cache-Control"] == f"public, max-age={max_age}"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


@pytest.mark.settings(keys={"rotation_lead_time": 60})
def test_jwks_is_cached_no_longer_than_a_new_key_waits_before_it_signs(client):
    assert client.get("/jwks.json").headers["Cache-Control"] == "public, max-age=60"


@pytest.mark.parametrize("path", ["/.well-known/openid-configuration", "/jwks.json"])
def test_documents_revalidate_with_their_etag(client, path):
    etag = client.get(path).headers["ETag"]
    response = client.get(path, headers={"If-None-Match": etag})
    assert response.status_code == 304 and response.data == b""


def test_discovery_is_built_once_per_process(client, monkeypatch):
    calls = []
    build = views.provider_metadata
    monkeypatch.setattr(views, "provider_metadata", lambda: calls.append(1) or build())
    client.application.extensions.pop("idp.published", None)
    first = client.get("/.well-known/openid-configuration").data
    assert client.get("/.well-known/openid-configuration").data == first
    assert len(calls) == 1


def test_jwks_shows_a_key_added_to_the_directory_by_another_process(own_keys):
    client, keys = own_keys
    before = kids(client)
    generate_key(keys, "RS256")  # e.g. `idp keys rotate` on another host sharing the directory
    after = kids(client)
    assert before < after and len(after) == len(before) + 1


def test_jwks_drops_a_key_retired_by_another_process(own_keys):
    client, keys = own_keys
    generate_key(keys, "RS256")
    before = kids(client)
    oldest = sorted(p for p in os.listdir(keys) if p.startswith("rs256-"))[0]
    from idp.oidc.keys import load_keyring
    old_kid = next(k.kid for k in load_keyring(keys).keys if k.filename == oldest)
    retire_key(keys, old_kid, lead_time=0, token_lifetime=0)
    assert kids(client) == before - {old_kid}


def test_discovery_follows_a_new_algorithm_in_the_directory(own_keys):
    client, keys = own_keys
    for file in keys.glob("es256-*.pem"):
        file.unlink()
    assert client.get("/.well-known/openid-configuration").json["id_token_signing_alg_values_supported"] == ["RS256"]
    generate_key(keys, "ES256")
    assert client.get("/.well-known/openid-configuration").json["id_token_signing_alg_values_supported"] == \
        ["ES256", "RS256"]
