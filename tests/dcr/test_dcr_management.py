"""RFC 7592 client configuration endpoint: read (2.1), full replace (2.2) and delete (2.3) with the registration
access token; any other token is a 401 that does not say whether the client exists; the secret is never shown again."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from dcr_helpers import METADATA, REDIRECT_URI, assert_oauth_error, bearer, configuration_path, issue, register
from idp.extensions import db
from idp.models import AuditEvent, Client
from idp.oidc.registration import create_client


@pytest.fixture
def path(registered) -> str:
    return configuration_path(registered)


@pytest.fixture
def auth(registered) -> dict:
    return bearer(registered["registration_access_token"])


def stored(client_id: str) -> Client | None:
    db.session.expire_all()
    return db.session.scalar(sa.select(Client).where(Client.client_id == client_id))


def replacement(registered: dict, **changes) -> dict:
    return {"client_id": registered["client_id"], **METADATA, **changes}


def assert_invalid_token(response) -> None:
    assert_oauth_error(response, 401, "invalid_token")
    assert response.headers["WWW-Authenticate"].startswith("Bearer ")


def test_read_returns_the_registration_without_the_secret(client, registered, path, auth):
    response = client.get(path, headers=auth)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert "client_secret" not in body and registered["client_secret"] not in response.get_data(as_text=True)
    assert body["client_id"] == registered["client_id"] and body["client_name"] == METADATA["client_name"]
    assert body["registration_client_uri"] == registered["registration_client_uri"]
    assert body["registration_access_token"] == registered["registration_access_token"]
    assert body["client_id_issued_at"] == registered["client_id_issued_at"]


@pytest.mark.parametrize("headers", [{}, bearer("wrong"), {"Authorization": "Basic eDp5"}],
                         ids=["none", "wrong", "basic"])
@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_a_missing_or_wrong_token_is_refused(client, registered, path, method, headers):
    assert_invalid_token(client.open(path, method=method, json=replacement(registered), headers=headers))
    assert stored(registered["client_id"]).name == METADATA["client_name"]


def test_the_initial_access_token_does_not_manage_clients(client, path):
    token = issue(max_uses=5)
    assert_invalid_token(client.get(path, headers=bearer(token)))


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_another_clients_token_gets_the_same_401_as_an_unknown_client(client, registered, path, method):
    other = register(client, issue(), client_name="Other").get_json()
    other_token = bearer(other["registration_access_token"])
    response = client.open(path, method=method, json=replacement(registered), headers=other_token)
    assert_invalid_token(response)
    unknown = client.open("/register/no-such-client", method=method, json=replacement(registered), headers=other_token)
    assert_invalid_token(unknown)
    assert response.get_json() == unknown.get_json()
    assert stored(registered["client_id"]) is not None


def test_a_long_unknown_client_id_is_a_401(client, auth):
    assert_invalid_token(client.get("/register/" + "x" * 300, headers=auth))


def test_a_cli_client_cannot_be_managed_through_the_api(client, app, auth):
    cli_client, _ = create_client(name="Console", redirect_uris=[REDIRECT_URI], trusted=True)
    db.session.commit()
    assert_invalid_token(client.get(f"/register/{cli_client.client_id}", headers=auth))


def test_update_replaces_the_whole_metadata_through_the_service(client, registered, path, auth):
    body = replacement(registered, client_name="Renamed", redirect_uris=["https://partner.example/cb"],
                       scope="openid email", post_logout_redirect_uris=["https://partner.example/bye"],
                       client_secret=registered["client_secret"])
    response = client.put(path, json=body, headers=auth)
    assert response.status_code == 200, response.get_json()
    data = response.get_json()
    assert data["client_name"] == "Renamed" and data["scope"] == "openid email" and "client_secret" not in data
    row = stored(registered["client_id"])
    assert row.redirect_uris == ["https://partner.example/cb"] and row.post_logout_redirect_uris == [
        "https://partner.example/bye"]
    assert row.trusted is False and row.check_client_secret(registered["client_secret"])
    # omitted fields go back to what a registration gives
    response = client.put(path, json=replacement(registered), headers=auth)
    row = stored(registered["client_id"])
    assert row.scope == "openid profile email offline_access" and row.post_logout_redirect_uris == []
    events = db.session.scalars(sa.select(AuditEvent.event)).all()
    assert {"client_changed", "client_registration_updated"} <= set(events)


@pytest.mark.parametrize("changes, error", [
    ({"client_id": "someone-else"}, "invalid_request"),
    ({"client_id": None}, "invalid_request"),
    ({"client_secret": "not-the-secret"}, "invalid_request"),
    ({"client_secret": 12}, "invalid_request"),
    ({"registration_access_token": "x"}, "invalid_request"),
    ({"client_id_issued_at": 1}, "invalid_request"),
    ({"redirect_uris": ["http://partner.example/cb"]}, "invalid_redirect_uri"),
    ({"grant_types": ["password"]}, "invalid_client_metadata"),
    ({"response_types": ["token"]}, "invalid_client_metadata"),
    ({"token_endpoint_auth_method": "none"}, "invalid_client_metadata"),
    ({"client_name": None}, "invalid_client_metadata"),
])
def test_a_bad_update_is_refused_and_changes_nothing(client, registered, path, auth, changes, error):
    body = {k: v for k, v in replacement(registered, **{"client_name": "Renamed", **changes}).items() if v is not None}
    assert_oauth_error(client.put(path, json=body, headers=auth), 400, error)
    row = stored(registered["client_id"])
    assert row.name == METADATA["client_name"] and row.redirect_uris == [REDIRECT_URI]


@pytest.mark.parametrize("data", [b"[1]", b"{oops", b""])
def test_a_malformed_update_is_invalid_client_metadata(client, path, auth, data):
    response = client.put(path, data=data, content_type="application/json", headers=auth)
    assert_oauth_error(response, 400, "invalid_client_metadata")


def test_delete_removes_the_client_and_its_token_stops_working(client, registered, path, auth):
    response = client.delete(path, headers=auth)
    assert response.status_code == 204 and response.get_data() == b""
    assert stored(registered["client_id"]) is None
    assert_invalid_token(client.get(path, headers=auth))
    events = db.session.scalars(sa.select(AuditEvent.event)).all()
    assert {"client_deleted", "client_registration_deleted"} <= set(events)


def test_the_secret_cannot_be_retrieved_after_registration(client, registered, path, auth):
    read = client.get(path, headers=auth).get_data(as_text=True)
    put = client.put(path, json=replacement(registered), headers=auth).get_data(as_text=True)
    assert registered["client_secret"] not in read and registered["client_secret"] not in put
    audit = db.session.scalars(sa.select(AuditEvent.details)).all()
    assert registered["client_secret"] not in str(audit) and registered["registration_access_token"] not in str(audit)
