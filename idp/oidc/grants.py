"""Authlib grant subclasses: authorization code with S256-only PKCE and OIDC, rotating refresh tokens, and client
credentials for confidential clients registered for it (RFC 6749 4.4: no ID token, no refresh token, no user).

Each seam is a few lines that call the storage. Codes and refresh tokens are consumed atomically when they are
looked up, so two concurrent redemptions have exactly one winner; a second use revokes what the first one got
(RFC 6749 4.1.2, RFC 9700 4.14.2).
"""

from __future__ import annotations

from authlib.oauth2.rfc6749 import InvalidGrantError, InvalidRequestError, InvalidScopeError, grants
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import OpenIDCode as _OpenIDCode
from authlib.oidc.core.grants.util import is_openid_scope
from flask import current_app
from joserfc.jwk import KeySet

from .. import clock
from ..security.tokens import new_secret
from . import claims, store
from .keys import load_keyring

CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"]
CONFIDENTIAL_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt"]
#: scopes that only mean something for a signed-in person: never granted to a client acting for itself
USER_SCOPES = {"openid", "offline_access"}


class S256CodeChallenge(CodeChallenge):
    """PKCE with S256 only (RFC 9700 2.1.1): ``plain`` and a missing method are refused; public clients must use it."""

    DEFAULT_CODE_CHALLENGE_METHOD = "S256"
    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]

    def validate_code_challenge(self, grant, redirect_uri):
        data = grant.request.payload.data
        if data.get("code_challenge") and not data.get("code_challenge_method"):
            raise InvalidRequestError("'code_challenge_method' is required and must be S256.")
        if grant.client.is_public and not data.get("code_challenge"):
            raise InvalidRequestError("Public clients must use PKCE ('code_challenge' with S256).")
        super().validate_code_challenge(grant, redirect_uri)


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = CLIENT_AUTH_METHODS

    def generate_authorization_code(self) -> str:
        return new_secret(32)

    def save_authorization_code(self, code, request):
        """Authlib seam. Stores the code's checksum with the login context (auth_time, amr, acr, sid)."""
        store.save_authorization_code(code, request, request.login_session)

    def query_authorization_code(self, code, client):
        """Authlib seam. Consumes the code atomically; a reused code revokes the tokens it produced."""
        return store.consume_authorization_code(code, client)

    def delete_authorization_code(self, authorization_code):
        """Authlib seam. Nothing to do: the code was consumed when it was looked up."""

    def authenticate_user(self, authorization_code):
        return store.active_user(authorization_code.user)


class RefreshTokenGrant(grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = CLIENT_AUTH_METHODS
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token):
        """Authlib seam. Checks client and scope first, then consumes the token; a reused one revokes its family."""
        client = self.request.client
        requested = self.request.payload.scope
        token = store.find_refresh_token(refresh_token)
        if token is None or not token.check_client(client):
            return None
        if requested and not set(requested.split()) <= set(token.scope.split()):
            raise InvalidScopeError()
        return store.consume_refresh_token(token)

    def authenticate_user(self, refresh_token):
        user = store.active_user(refresh_token.user)
        if user is None:
            raise InvalidGrantError("The user of this refresh token is disabled.")
        return user

    def revoke_old_credential(self, refresh_token):
        """Authlib seam. Nothing to do: consuming the old refresh token on lookup also ended its access token."""


class ClientCredentialsGrant(grants.ClientCredentialsGrant):
    """RFC 6749 4.4 for confidential clients whose ``grant_types`` include it. The token carries the requested scopes
    the client is registered for; ``openid`` and ``offline_access`` are refused (there is no person to identify and
    no refresh token, RFC 6749 4.4.3)."""

    TOKEN_ENDPOINT_AUTH_METHODS = CONFIDENTIAL_AUTH_METHODS

    def validate_token_request(self):
        super().validate_token_request()
        requested = set((self.request.payload.scope or "").split())
        if requested & USER_SCOPES:
            raise InvalidScopeError("'openid' and 'offline_access' need a user; not for client credentials.")
        if not requested <= set(self.request.client.scope.split()):
            raise InvalidScopeError("The client is not registered for the requested scope.")


class OpenIDCode(_OpenIDCode):
    """ID tokens signed with the key for the client's algorithm, carrying ``kid``, ``sid``, ``auth_time``, amr, acr."""

    def exists_nonce(self, nonce, request):
        return store.nonce_used(nonce, request.payload.client_id)

    def resolve_client_private_key(self, client):
        """All published keys: joserfc signs with the one whose ``kid`` the header names (one choice, no race)."""
        settings = current_app.config["IDP_SETTINGS"]
        return KeySet([k.key for k in load_keyring(settings.keys.dir).keys])

    def get_client_algorithm(self, client):
        return client.id_token_signed_response_alg or current_app.config["IDP_SETTINGS"].keys.signing_alg

    def get_encode_header(self, client):
        key = self._signing_key(client)
        return {"alg": key.alg, "kid": key.kid, "typ": "JWT"}

    def get_client_claims(self, client):
        settings = current_app.config["IDP_SETTINGS"]
        now = clock.timestamp()
        lifetime = client.id_token_lifetime or settings.tokens.id_token_lifetime
        return {"iss": settings.issuer, "aud": [client.get_client_id()], "iat": now, "exp": now + lifetime}

    def get_authorization_code_claims(self, authorization_code):
        result = super().get_authorization_code_claims(authorization_code)
        if authorization_code.sid:
            result["sid"] = authorization_code.sid
        return result

    def generate_user_info(self, user, scope):
        return claims.generate_user_info(user, scope)

    def _signing_key(self, client):
        settings = current_app.config["IDP_SETTINGS"]
        return load_keyring(settings.keys.dir).signing_key(self.get_client_algorithm(client),
                                                           settings.keys.rotation_lead_time)


__all__ = ["AuthorizationCodeGrant", "ClientCredentialsGrant", "RefreshTokenGrant", "OpenIDCode", "S256CodeChallenge", "is_openid_scope"]
