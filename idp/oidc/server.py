"""Wires Authlib's authorization server and resource protector: grants, PKCE, RFC 9207 ``iss``, userinfo.

``init_oidc(app)`` builds them for an app; views reach the server through ``authorization_server()``.
"""

from __future__ import annotations

from authlib.integrations.flask_oauth2 import AuthorizationServer as _FlaskAuthorizationServer
from authlib.integrations.flask_oauth2 import ResourceProtector
from authlib.oauth2.rfc6749 import OAuth2Request
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from authlib.oauth2.rfc6750 import BearerTokenValidator as _BearerTokenValidator
from authlib.oauth2.rfc9207 import IssuerParameter as _IssuerParameter
from authlib.oidc.core import UserInfoEndpoint as _UserInfoEndpoint
from flask import current_app

from ..security.tokens import new_secret
from . import bearer, claims, store
from .client_auth import METHOD as PRIVATE_KEY_JWT, PrivateKeyJWT
from .dcr import ConfigurationEndpoint, RegistrationEndpoint
from .endpoints import IntrospectionEndpoint, RevocationEndpoint
from .grants import AuthorizationCodeGrant, ClientCredentialsGrant, OpenIDCode, RefreshTokenGrant, S256CodeChallenge


class AuthorizationServer(_FlaskAuthorizationServer):
    """Flask's server, able to replay a stored authorization request when an interaction resumes."""

    def create_oauth2_request(self, request):
        if isinstance(request, OAuth2Request):
            return request
        return super().create_oauth2_request(request)


def stored_request(params: dict, url: str) -> OAuth2Request:
    """Rebuild an authorization request from the parameters saved in an Interaction."""
    request = OAuth2Request("GET", url)
    request.payload = BasicOAuth2Payload(dict(params))
    return request


class IssuerParameter(_IssuerParameter):
    def get_issuer(self) -> str:
        return current_app.config["IDP_SETTINGS"].issuer


class BearerTokenValidator(_BearerTokenValidator):
    def authenticate_token(self, token_string):
        """Authlib seam. Finds the access token by checksum; tokens of disabled users or clients are not valid, nor
        are client-credentials tokens (no user: nothing for userinfo to describe)."""
        return bearer.find_bearer_token(token_string)


class UserInfoEndpoint(_UserInfoEndpoint):
    def get_issuer(self) -> str:
        return current_app.config["IDP_SETTINGS"].issuer

    def generate_user_info(self, user, scope):
        return claims.generate_user_info(user, scope)


def init_oidc(app) -> AuthorizationServer:
    """One server per app (settings differ between apps, e.g. in tests), kept in ``app.extensions``."""
    app.config["OAUTH2_SCOPES_SUPPORTED"] = claims.SCOPES_SUPPORTED
    server = AuthorizationServer()
    server.init_app(app, query_client=store.query_client, save_token=store.save_token)
    server.register_client_auth_method(PRIVATE_KEY_JWT, PrivateKeyJWT())  # RFC 7523 2.2
    server.register_token_generator("default", BearerTokenGenerator(_random_token, _random_token, _access_lifetime))
    server.register_grant(AuthorizationCodeGrant, [S256CodeChallenge(required=True), OpenIDCode(require_nonce=False)])
    server.register_grant(RefreshTokenGrant)
    server.register_grant(ClientCredentialsGrant)
    server.register_extension(IssuerParameter())
    protector = ResourceProtector()
    protector.register_token_validator(BearerTokenValidator())
    server.register_endpoint(UserInfoEndpoint(resource_protector=protector))
    server.register_endpoint(RevocationEndpoint)
    server.register_endpoint(IntrospectionEndpoint)
    server.register_endpoint(RegistrationEndpoint)  # RFC 7591
    server.register_endpoint(ConfigurationEndpoint)  # RFC 7592
    app.extensions["idp.authorization"] = server
    return server


def authorization_server() -> AuthorizationServer:
    return current_app.extensions["idp.authorization"]


def _random_token(*_args, **_kwargs) -> str:
    return new_secret(32)


def _access_lifetime(client, grant_type) -> int:
    """The client's own access-token lifetime, else the configured default."""
    return client.access_token_lifetime or current_app.config["IDP_SETTINGS"].tokens.access_token_lifetime
