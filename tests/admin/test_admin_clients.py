"""The console's client pages: list, register (the secret shown once), show and edit, rotate, disable and enable,
delete; every change through the one client service, audited with the admin as actor."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from admin_helpers import admin, audit_events, console  # noqa: F401 (fixtures)
from helpers import csrf, error_of, post
from idp.extensions import db
from idp.models import Client
from idp.oidc.registration import create_client

REDIRECT = "https://billing.example.com/callback"
SECRET_RE = re.compile(r'<p class="secret" id="client-secret">([^<]+)</p>')


def form(**changes) -> dict:
    """A complete client form as the browser sends it (checkboxes as lists)."""
    data = {"name": "Billing", "type": "confidential", "token_endpoint_auth_method": "client_secret_basic",
            "redirect_uris": REDIRECT, "post_logout_redirect_uris": "https://billing.example.com/",
            "backchannel_logout_uri": "https://billing.example.com/bc", "jwks": "", "jwks_uri": "",
            "grant_types": ["authorization_code", "refresh_token"], "scope": ["openid", "profile", "email"],
            "id_token_signed_response_alg": "RS256", "access_token_lifetime": "", "id_token_lifetime": "",
            "refresh_token_lifetime": "", "enabled": "1"}
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def stored(client_id: str | None = None, name: str | None = None) -> Client | None:
    db.session.expire_all()
    condition = Client.client_id == client_id if client_id else Client.name == name
    return db.session.scalar(sa.select(Client).where(condition))


def register(console, **changes):
    return console.post("/admin/clients", data={"csrf_token": csrf(console), **form(**changes)})


def registered_secret(console, **changes) -> tuple[Client, str]:
    response = register(console, **changes)
    assert response.status_code == 303, (response.status_code, error_of(response))
    page = console.get(response.location).get_data(as_text=True)
    return stored(name=changes.get("name", "Billing")), SECRET_RE.search(page).group(1)


def test_register_shows_the_secret_once_and_stores_its_hash(console, admin):
    response = register(console)
    assert response.status_code == 303
    client = stored(name="Billing")
    assert response.location == f"/admin/clients/{client.client_id}/secret"
    page = console.get(response.location).get_data(as_text=True)
    secret = SECRET_RE.search(page).group(1)
    assert "Copy the secret now" in page and client.client_id in page
    assert client.check_client_secret(secret) and secret not in (client.client_secret_hash or "")
    again = console.get(response.location).get_data(as_text=True)
    assert secret not in again and "shown once" in again
    assert secret not in console.get(f"/admin/clients/{client.client_id}").get_data(as_text=True)
    event = audit_events("client_created")[-1]
    assert event.actor_id == admin.id and event.client_id == client.client_id


def test_register_keeps_every_field(console):
    client, _ = registered_secret(console, trusted="1", requires_2fa="1", access_token_lifetime="300",
                                  id_token_lifetime="120", refresh_token_lifetime="3600", grant_types=["authorization_code"],
                                  scope=["openid", "email"], token_endpoint_auth_method="client_secret_post",
                                  id_token_signed_response_alg="ES256")
    assert (client.trusted, client.requires_2fa, client.enabled) == (True, True, True)
    assert (client.access_token_lifetime, client.id_token_lifetime, client.refresh_token_lifetime) == (300, 120, 3600)
    assert client.grant_types == ["authorization_code"] and client.scope == "openid email"
    assert client.token_endpoint_auth_method == "client_secret_post"
    assert client.id_token_signed_response_alg == "ES256"
    assert client.post_logout_redirect_uris == ["https://billing.example.com/"]
    assert client.backchannel_logout_uri == "https://billing.example.com/bc"


def test_the_list_shows_each_client_with_its_type_method_and_flags(console):
    create_client(name="Panel", redirect_uris=["https://panel.example/cb"], trusted=True, requires_2fa=True)
    create_client(name="Mobile", redirect_uris=["https://app.example/cb"], public=True, enabled=False)
    db.session.commit()
    page = console.get("/admin/clients").get_data(as_text=True)
    panel, mobile = stored(name="Panel"), stored(name="Mobile")
    panel_row = re.search(rf'<tr id="client-{panel.client_id}">(.*?)</tr>', page, re.S).group(1)
    mobile_row = re.search(rf'<tr id="client-{mobile.client_id}">(.*?)</tr>', page, re.S).group(1)
    assert "Confidential" in panel_row and "client_secret_basic" in panel_row and "Enabled" in panel_row
    assert "Trusted" in panel_row and "Requires 2FA" in panel_row
    assert "Public" in mobile_row and "none" in mobile_row and "Disabled" in mobile_row and "Trusted" not in mobile_row
    assert 'href="/admin/clients"' in console.get("/admin").get_data(as_text=True)


@pytest.mark.parametrize(("changes", "message"), [
    ({"redirect_uris": "https://billing.example.com/cb#frag"}, "redirect_uri: must not contain a fragment"),
    ({"redirect_uris": ""}, "redirect_uri: at least one is required"),
    ({"name": ""}, "name: required"),
    ({"scope": ["profile"]}, "scope: must include openid"),
    ({"grant_types": ["refresh_token"]}, "grant_types"),
    ({"grant_types": []}, "grant_types: supported are"),
    ({"scope": []}, "scope: must include openid"),
    ({"access_token_lifetime": "ten"}, "access_token_lifetime: seconds between 60"),
    ({"refresh_token_lifetime": "5"}, "refresh_token_lifetime: seconds between 60"),
    ({"token_endpoint_auth_method": "private_key_jwt"}, "private_key_jwt needs the client&#39;s public keys"),
    ({"token_endpoint_auth_method": "private_key_jwt", "jwks": "{not json"}, "jwks: not valid JSON"),
    ({"token_endpoint_auth_method": "client_secret_jwt"}, "token_endpoint_auth_method: one of"),
    ({"type": "robot"}, "type: confidential or public"),
    ({"backchannel_logout_uri": "https://10.0.0.5/bc"}, "backchannel_logout_uri: must not point at a loopback"),
    ({"id_token_signed_response_alg": "none"}, "id_token_signed_response_alg: RS256 or ES256"),
])
def test_a_refused_registration_shows_the_service_error_and_keeps_the_values(console, changes, message):
    response = register(console, **changes)
    assert response.status_code == 400
    assert message in error_of(response)
    page = response.get_data(as_text=True)
    assert 'value="Billing"' in page or changes.get("name") == ""
    assert "https://billing.example.com/bc" in page or "backchannel_logout_uri" in changes
    assert stored(name="Billing") is None


def test_a_public_client_has_no_secret_and_goes_to_its_page(console):
    response = register(console, type="public", name="Mobile")
    client = stored(name="Mobile")
    assert response.status_code == 303 and response.location == f"/admin/clients/{client.client_id}"
    assert client.is_public and client.client_secret_hash is None


def test_a_private_key_jwt_client_is_registered_with_its_keys(console):
    from joserfc.jwk import RSAKey
    jwks = {"keys": [RSAKey.generate_key(2048, parameters={"kid": "k1"}).as_dict(private=False)]}
    import json
    response = register(console, token_endpoint_auth_method="private_key_jwt", jwks=json.dumps(jwks))
    assert response.status_code == 303, error_of(response)
    client = stored(name="Billing")
    assert client.token_endpoint_auth_method == "private_key_jwt" and client.client_secret_hash is None
    assert client.jwks == jwks
    private = {"keys": [RSAKey.generate_key(2048).as_dict(private=True)]}
    refused = register(console, name="Other", token_endpoint_auth_method="private_key_jwt", jwks=json.dumps(private))
    assert refused.status_code == 400 and "private key material" in error_of(refused)


def test_editing_changes_the_settings_through_the_service(console, admin):
    client, _ = registered_secret(console)
    response = post(console, f"/admin/clients/{client.client_id}", **form(
        name="Billing 2", redirect_uris=f"{REDIRECT}\nhttps://billing.example.com/cb2", requires_2fa="1",
        access_token_lifetime="900", scope=["openid", "email"], token_endpoint_auth_method="client_secret_post"))
    assert response.status_code == 303 and response.location == f"/admin/clients/{client.client_id}"
    client = stored(client.client_id)
    assert client.name == "Billing 2" and client.redirect_uris == [REDIRECT, "https://billing.example.com/cb2"]
    assert client.requires_2fa and client.access_token_lifetime == 900 and client.scope == "openid email"
    assert client.token_endpoint_auth_method == "client_secret_post"
    event = audit_events("client_changed")[-1]
    assert event.actor_id == admin.id and "name" in event.details["fields"]


def test_a_refused_edit_changes_nothing_and_keeps_the_typed_values(console):
    client, _ = registered_secret(console)
    response = post(console, f"/admin/clients/{client.client_id}", **form(name="Renamed",
                                                                           redirect_uris="ftp://billing.example.com/"))
    assert response.status_code == 400 and "redirect_uri" in error_of(response)
    assert 'value="Renamed"' in response.get_data(as_text=True)
    assert stored(client.client_id).name == "Billing"


def test_a_public_client_cannot_become_confidential_by_editing(console):
    register(console, type="public", name="Mobile")
    client = stored(name="Mobile")
    response = post(console, f"/admin/clients/{client.client_id}", **form(name="Mobile", type="confidential"))
    assert response.status_code == 303  # the type field of the edit form is ignored: the method is not sent
    assert stored(client.client_id).is_public


def test_rotation_shows_the_new_secret_once_and_until_when_the_old_one_works(console, admin):
    client, old = registered_secret(console)
    response = post(console, f"/admin/clients/{client.client_id}/rotate-secret")
    assert response.status_code == 303 and response.location == f"/admin/clients/{client.client_id}/secret"
    page = console.get(response.location).get_data(as_text=True)
    new = SECRET_RE.search(page).group(1)
    client = stored(client.client_id)
    until = client.previous_secret_expires_at.strftime("%Y-%m-%d %H:%M UTC")
    assert f'<strong id="previous-until">{until}</strong>' in page
    assert new != old and client.check_client_secret(new) and client.check_client_secret(old)
    assert new not in console.get(response.location).get_data(as_text=True)
    assert audit_events("client_secret_rotated")[-1].actor_id == admin.id


def test_a_public_client_has_no_secret_to_rotate(console):
    register(console, type="public", name="Mobile")
    client = stored(name="Mobile")
    response = post(console, f"/admin/clients/{client.client_id}/rotate-secret")
    assert response.status_code == 400 and "public client has no secret" in error_of(response)


def test_the_secret_page_of_another_client_shows_nothing(console):
    first, _ = registered_secret(console)
    response = register(console, name="Second")
    other = stored(name="Second")
    page = console.get(f"/admin/clients/{first.client_id}/secret").get_data(as_text=True)
    assert 'id="client-secret"' not in page  # the secret put aside was the second client's: gone, not shown
    assert 'id="client-secret"' not in console.get(response.location).get_data(as_text=True)
    assert other is not None


def test_disable_and_enable(console, admin):
    client, secret = registered_secret(console)
    assert post(console, f"/admin/clients/{client.client_id}/disable").status_code == 303
    assert stored(client.client_id).enabled is False
    assert "Disabled" in console.get(f"/admin/clients/{client.client_id}").get_data(as_text=True)
    assert post(console, f"/admin/clients/{client.client_id}/enable").status_code == 303
    assert stored(client.client_id).enabled is True
    assert [e.details["fields"] for e in audit_events("client_changed")] == [["enabled"], ["enabled"]]


def test_delete_asks_for_confirmation(console, admin):
    client, _ = registered_secret(console)
    page = console.get(f"/admin/clients/{client.client_id}/delete")
    assert page.status_code == 200 and "cannot be undone" in page.get_data(as_text=True)
    assert post(console, f"/admin/clients/{client.client_id}/delete").status_code == 400
    assert stored(client.client_id) is not None
    response = post(console, f"/admin/clients/{client.client_id}/delete", confirm=client.client_id)
    assert response.status_code == 303 and response.location == "/admin/clients"
    assert stored(client.client_id) is None
    assert audit_events("client_deleted")[-1].actor_id == admin.id


@pytest.mark.parametrize("path", ["/admin/clients/nope", "/admin/clients/" + "x" * 300, "/admin/clients/nope/secret",
                                  "/admin/clients/nope/delete"])
def test_an_unknown_client_is_404(console, path):
    assert console.get(path).status_code == 404


def test_malformed_posts_get_4xx_never_500(console):
    client, _ = registered_secret(console)
    token = csrf(console)
    assert console.post("/admin/clients", data={"csrf_token": token}).status_code == 400
    assert console.post("/admin/clients", data={"csrf_token": token, "name": "x" * 100000}).status_code in (400, 413)
    assert console.post(f"/admin/clients/{client.client_id}", data={"csrf_token": token,
                                                                    "redirect_uris": "\n" * 60}).status_code == 400
    assert console.post(f"/admin/clients/{client.client_id}/explode", data={"csrf_token": token}).status_code in (404, 405)
    many = "\n".join(f"https://billing.example.com/{i}" for i in range(51))
    response = console.post("/admin/clients", data={"csrf_token": token, **form(redirect_uris=many)})
    assert response.status_code == 400 and "at most 50" in error_of(response)


def test_posts_without_csrf_token_are_refused(console):
    client, _ = registered_secret(console)
    assert console.post("/admin/clients", data=form(name="No token")).status_code == 400
    for action in ("disable", "rotate-secret", "delete"):
        assert console.post(f"/admin/clients/{client.client_id}/{action}",
                            data={"confirm": client.client_id}).status_code == 400
    assert stored(client.client_id).enabled and stored(name="No token") is None


def test_a_client_moves_from_a_secret_to_private_key_jwt_and_back(console):
    import json
    from joserfc.jwk import RSAKey
    client, secret = registered_secret(console)
    jwks = json.dumps({"keys": [RSAKey.generate_key(2048, auto_kid=True).as_dict(private=False)]})
    response = post(console, f"/admin/clients/{client.client_id}",
                    **form(token_endpoint_auth_method="private_key_jwt", jwks=jwks))
    assert response.status_code == 303, error_of(response)
    client = stored(client.client_id)
    assert client.token_endpoint_auth_method == "private_key_jwt" and client.client_secret_hash is None
    back = post(console, f"/admin/clients/{client.client_id}", **form(token_endpoint_auth_method="client_secret_basic"))
    assert back.status_code == 400 and "no secret yet" in error_of(back)
    assert post(console, f"/admin/clients/{client.client_id}/rotate-secret").status_code == 303
    assert post(console, f"/admin/clients/{client.client_id}",
                **form(token_endpoint_auth_method="client_secret_basic")).status_code == 303
    client = stored(client.client_id)
    assert client.token_endpoint_auth_method == "client_secret_basic" and client.jwks is None
    assert not client.check_client_secret(secret)
