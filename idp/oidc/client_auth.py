"""``private_key_jwt`` client authentication (RFC 7523 2.2 and 3, OIDC Core 9) at the token, revocation and
introspection endpoints, on Authlib's ``JWTBearerClientAssertion``.

The client sends ``client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer`` and a
``client_assertion`` JWT it signed with one of its registered keys (``client_keys``). We require (RFC 7523 3):
``iss`` = ``sub`` = the client id; ``aud`` naming idp's issuer or token endpoint; ``exp``, at most
``MAX_LIFETIME`` seconds ahead; a ``jti`` used once: it is inserted into ``used_client_assertion`` with
``ON CONFLICT DO NOTHING RETURNING``, so of several processes accepting the same assertion exactly one succeeds; the row lives
until the assertion's ``exp``. Only asymmetric algorithms are accepted (no ``HS*``, no ``none``). A ``client_id``
parameter, when sent, must name the same client (RFC 7521 4.2).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import sqlalchemy as sa
from authlib.oauth2.rfc6749 import InvalidClientError
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from flask import current_app, url_for
from joserfc import jwt
from joserfc.errors import JoseError
from sqlalchemy.dialects import postgresql, sqlite

from .. import clock
from ..extensions import db
from ..models import UsedClientAssertion
from . import client_keys

log = logging.getLogger(__name__)

METHOD = "private_key_jwt"
#: the longest an assertion may live (from now to its ``exp``), in seconds
MAX_LIFETIME = 300
LEEWAY = 30
MAX_ASSERTION_LENGTH = 8192
MAX_JTI_LENGTH = 255


class PrivateKeyJWT(JWTBearerClientAssertion):
    """Registered with ``server.register_client_auth_method("private_key_jwt", PrivateKeyJWT())``."""

    CLIENT_AUTH_METHOD = METHOD

    def __init__(self):
        super().__init__(validate_jti=True, leeway=LEEWAY)

    def __call__(self, query_client, request):
        data = request.form
        assertion = data.get("client_assertion")
        if not assertion or data.get("client_assertion_type") != self.CLIENT_ASSERTION_TYPE:
            return None
        if len(assertion) > MAX_ASSERTION_LENGTH:
            raise InvalidClientError(description="The client assertion is too long.")
        client = super().__call__(query_client, request)
        if data.get("client_id") not in (None, client.client_id):
            raise InvalidClientError(description="'client_id' does not match the client assertion.")
        return client

    def get_audiences(self) -> list[str]:
        issuer = current_app.config["IDP_SETTINGS"].issuer
        return [issuer, issuer + url_for("oidc.token")]

    def resolve_client_public_key(self, client):
        try:
            return client_keys.public_keys(client)
        except client_keys.ClientKeyError as exc:
            log.warning("private_key_jwt: keys of client %s unusable: %s", client.client_id, exc)
            raise InvalidClientError(description="The client's public keys cannot be used.") from None

    def process_assertion_claims(self, assertion, resolve_key):
        """Authlib seam, with the accepted algorithms named (joserfc would otherwise take its defaults)."""
        try:
            token = jwt.decode(assertion, resolve_key, algorithms=client_keys.ASSERTION_ALGS)
        except (JoseError, ValueError, TypeError) as exc:
            log.info("private_key_jwt: assertion refused: %s", getattr(exc, "description", None) or type(exc).__name__)
            raise InvalidClientError(description="The client assertion is not valid.") from None
        self.verify_claims(token.claims)
        return token.claims

    def verify_claims(self, claims):
        registry = jwt.JWTClaimsRegistry(leeway=self.leeway, iss={"essential": True}, sub={"essential": True},
                                         aud={"essential": True, "values": self.get_audiences()},
                                         exp={"essential": True}, jti={"essential": True})
        try:
            registry.validate(claims)
        except JoseError as exc:
            raise InvalidClientError(description=f"The client assertion is not valid: {exc.description}") from None
        if claims["sub"] != claims["iss"]:
            raise InvalidClientError(description="The assertion's 'iss' and 'sub' must both be the client id.")
        jti = claims["jti"]
        if not isinstance(jti, str) or not 0 < len(jti) <= MAX_JTI_LENGTH:
            raise InvalidClientError(description=f"'jti' must be a string of at most {MAX_JTI_LENGTH} characters.")
        if claims["exp"] > clock.timestamp() + MAX_LIFETIME + self.leeway:
            raise InvalidClientError(description=f"The assertion must expire within {MAX_LIFETIME} seconds.")
        if not self.validate_jti(claims, jti):
            raise InvalidClientError(description="The client assertion was used before.")

    def validate_jti(self, claims, jti) -> bool:
        """Authlib seam. True for the first use of (client, jti) among all processes, False after."""
        return consume_jti(claims["sub"], jti, int(claims["exp"]) + self.leeway)


def consume_jti(client_id: str, jti: str, until: int) -> bool:
    now = clock.now()
    db.session.execute(sa.delete(UsedClientAssertion).where(UsedClientAssertion.expires_at < now),
                       execution_options={"synchronize_session": False})
    dialect = postgresql if db.engine.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(UsedClientAssertion).values(
        client_id=client_id, jti=jti, expires_at=datetime.fromtimestamp(until, UTC)
    ).on_conflict_do_nothing(index_elements=["client_id", "jti"]).returning(UsedClientAssertion.id)
    return db.session.execute(statement).scalar() is not None  # a row back: ours; none: the pair existed


__all__ = ["PrivateKeyJWT", "METHOD", "MAX_LIFETIME", "consume_jti"]
