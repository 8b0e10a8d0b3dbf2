"""Security keys elsewhere: an administrator's 2FA reset removes them, and the account owner's list shows them."""

from __future__ import annotations

from idp.admin.service import reset_two_factor
from idp.auth.flow import enrolled_methods
from idp.extensions import db
from webauthn_helpers import SoftAuthenticator, add_key, keys_of, password_login


def test_a_two_factor_reset_removes_the_security_keys(client, user):
    password_login(client)
    add_key(client, SoftAuthenticator())
    assert enrolled_methods(user) == ["webauthn"]
    assert reset_two_factor(None, user, "identity checked by phone call") == ["webauthn"]
    db.session.commit()
    assert keys_of(user) == [] and enrolled_methods(user) == []


def test_the_owners_user_list_names_the_method(client, make_user):
    owner = make_user("olive", role="owner")
    password_login(client, "olive")
    add_key(client, SoftAuthenticator())
    page = client.get("/account/users").get_data(as_text=True)
    assert "Security key or passkey" in page and owner.username in page
