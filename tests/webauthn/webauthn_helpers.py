"""Steps of the security-key pages for the tests: sign in, add a key, the second-factor step, passkey sign-in.

Imported as ``from webauthn_helpers import ...`` (pytest puts tests/webauthn on sys.path).
"""

from __future__ import annotations

import json

import sqlalchemy as sa

from helpers import TEST_PASSWORD, csrf, decode_id_token, error_of, post
from idp.extensions import db
from idp.models import AuditEvent, OutboxMessage, User, WebauthnCredential
from soft_authenticator import SoftAuthenticator

ISSUER = "http://localhost:8000"
RP_ID = "localhost"

__all__ = ["ISSUER", "RP_ID", "SoftAuthenticator", "TEST_PASSWORD", "audit_events", "add_key", "emails", "keys_of",
           "password_login", "post", "error_of", "key_options", "passkey_options", "passkey_login",
           "second_factor_options", "submit_assertion", "id_token_claims", "csrf"]


def password_login(client, username: str = "dana", password: str = TEST_PASSWORD, uid: str | None = None):
    form = {"username": username, "password": password, **({"uid": uid} if uid else {})}
    return post(client, "/login", **form)


def key_options(client, name: str = "YubiKey 5", password: str = TEST_PASSWORD, uid: str | None = None):
    return post(client, "/account/webauthn/options", password=password, name=name, **({"uid": uid} if uid else {}))


def add_key(client, authenticator: SoftAuthenticator, name: str = "YubiKey 5", **create):
    """Add a key through the pages (signed-in browser); returns the answer to the browser's credential."""
    options = key_options(client, name)
    assert options.status_code == 200, options.get_json()
    return post(client, "/account/webauthn/enrol", credential=authenticator.create(options.get_json(), **create))


def second_factor_options(client) -> dict:
    response = post(client, "/login/second-factor/webauthn")
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def submit_assertion(client, credential: str, remember: bool = False):
    data = {"method": "webauthn", "code": credential, **({"remember": "1"} if remember else {})}
    return post(client, "/login/second-factor", **data)


def passkey_options(client) -> dict:
    response = post(client, "/login/passkey/options")
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def passkey_login(client, credential: str, uid: str | None = None):
    return post(client, "/login/passkey", credential=credential, **({"uid": uid} if uid else {}))


def keys_of(user: User) -> list[WebauthnCredential]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(WebauthnCredential).where(WebauthnCredential.user_id == user.id)
                                   .order_by(WebauthnCredential.id)))


def audit_events(event: str, user: User | None = None) -> list[AuditEvent]:
    where = [AuditEvent.event == event] + ([AuditEvent.subject_id == user.id] if user else [])
    return list(db.session.scalars(sa.select(AuditEvent).where(*where).order_by(AuditEvent.id)))


def emails(user: User) -> list[OutboxMessage]:
    return list(db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.channel == "email",
                                                                  OutboxMessage.recipient == user.email)))


def id_token_claims(client, authz, code: str) -> dict:
    tokens = client.post("/token", data=authz.token_form(code), headers=authz.basic_auth())
    assert tokens.status_code == 200, tokens.get_json()
    return decode_id_token(tokens.get_json()["id_token"], client.get("/jwks.json").get_json()).claims


def options_json(options: dict) -> str:
    return json.dumps(options)
