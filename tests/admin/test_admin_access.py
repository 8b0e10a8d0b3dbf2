"""Who may use the admin console: idp admins with 2FA who used it in this session; CSRF on every form."""

from __future__ import annotations

import pytest

from admin_helpers import admin, console, give_totp, sign_in, sign_in_with_mfa, user_named  # noqa: F401 (fixtures)
import sqlalchemy as sa

from helpers import post
from idp.extensions import db
from idp.models import Client, RegistrationToken
from idp.oidc.registration import create_client

PAGES = ["/admin", "/admin/accounts", "/admin/users", "/admin/audit", "/admin/audit.jsonl", "/admin/clients",
         "/admin/clients/new", "/admin/registration-tokens"]


def _refused_everywhere(client, victim) -> None:
    for page in PAGES:
        assert client.get(page).status_code == 403, page
    assert post(client, "/admin/accounts", name="Evil Reseller").status_code == 403
    assert post(client, f"/admin/users/{victim.id}/disable").status_code == 403
    assert post(client, f"/admin/users/{victim.id}/password", password="violet kettle under the stairs").status_code \
        == 403
    assert not user_named(victim.username).disabled
    _refused_client_pages(client)


def _refused_client_pages(client) -> None:
    panel, _ = create_client(name="Panel", redirect_uris=["https://panel.example/cb"])
    db.session.commit()
    for page in (f"/admin/clients/{panel.client_id}", f"/admin/clients/{panel.client_id}/secret",
                 f"/admin/clients/{panel.client_id}/delete"):
        assert client.get(page).status_code == 403, page
    assert post(client, "/admin/clients", name="Evil", redirect_uris="https://evil.example/cb",
                grant_types="authorization_code", scope="openid", type="confidential").status_code == 403
    for action in ("disable", "rotate-secret"):
        assert post(client, f"/admin/clients/{panel.client_id}/{action}").status_code == 403
    assert post(client, f"/admin/clients/{panel.client_id}/delete", confirm=panel.client_id).status_code == 403
    assert post(client, f"/admin/clients/{panel.client_id}", name="Renamed", redirect_uris="https://e.example/cb",
                grant_types="authorization_code", scope="openid").status_code == 403
    assert post(client, "/admin/registration-tokens", expires_in="3600", max_uses="5").status_code == 403
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Client)) == 1
    assert panel.name == "Panel" and panel.enabled and panel.previous_secret_hash is None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(RegistrationToken)) == 0


def test_signed_out_visitor_is_sent_to_the_login_page(client):
    for page in PAGES:
        response = client.get(page)
        assert response.status_code == 303 and response.location.endswith("/login?next=security"), page


@pytest.mark.parametrize("role", ["member", "owner"])
def test_members_and_owners_get_403(client, make_user, role):
    person = make_user("dana", role=role)
    give_totp(person)  # even with a second factor used in the session
    sign_in_with_mfa(client, "dana")
    _refused_everywhere(client, make_user("sam"))


def test_admin_without_2fa_gets_403(client, make_user):
    make_user("ada", role="admin")
    sign_in(client, "ada")
    response = client.get("/admin")
    assert response.status_code == 403 and "two-factor authentication" in response.get_data(as_text=True)
    _refused_everywhere(client, make_user("sam"))


def test_admin_with_2fa_but_a_password_only_session_gets_403(client, make_user):
    ada = make_user("ada", role="admin")
    sign_in(client, "ada")  # no second factor yet: a password-only session
    give_totp(ada)  # enrolled since, but this session did not use it
    response = client.get("/admin")
    assert response.status_code == 403 and "second factor" in response.get_data(as_text=True)
    _refused_everywhere(client, make_user("sam"))


def test_admin_with_an_mfa_session_sees_every_page(console, make_user):
    make_user("sam")
    for page in PAGES:
        assert console.get(page).status_code == 200, page
    overview = console.get("/admin").get_data(as_text=True)
    for link in PAGES[1:4]:
        assert f'href="{link}"' in overview


def test_post_without_csrf_token_is_400(console, make_user):
    sam = make_user("sam")
    assert console.post("/admin/accounts", data={"name": "No Token"}).status_code == 400
    assert console.post(f"/admin/users/{sam.id}/disable").status_code == 400
    assert console.post(f"/admin/users/{sam.id}/reset-2fa", data={"reason": "x"}).status_code == 400
    assert not user_named("sam").disabled
    assert "No Token" not in console.get("/admin/accounts").get_data(as_text=True)


def test_the_settings_page_links_to_the_console_for_admins_only(client, make_user):
    ada = make_user("ada", role="admin")
    give_totp(ada)
    sign_in_with_mfa(client, "ada")
    assert '<a href="/admin" id="admin-console">' in client.get("/account/security").get_data(as_text=True)
    other = client.application.test_client()
    make_user("owen", role="owner")
    sign_in(other, "owen")
    assert "/admin" not in other.get("/account/security").get_data(as_text=True)
