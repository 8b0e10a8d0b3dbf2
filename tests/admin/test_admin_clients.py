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
