"""OpenID Provider metadata (Discovery 1.0 section 3, RFC 8414), built from settings and the registered grants.

Logout metadata: RP-Initiated Logout 1.0 section 2.1 (``end_session_endpoint``) and Back-Channel Logout 1.0
section 2.1 (``backchannel_logout_supported``, ``backchannel_logout_session_supported``); no front-channel logout.
Dynamic Client Registration: ``registration_endpoint`` (RFC 8414 2, RFC 7591 3; it needs an initial access token).
"""

from __future__ import annotations

from flask import current_app, url_for

from . import claims
from .client_keys import ASSERTION_ALGS
from .endpoints import IntrospectionEndpoint, RevocationEndpoint
from .grants import CLIENT_AUTH_METHODS, S256CodeChallenge
from .keys import load_keyring
from .registration import GRANT_TYPES


def provider_metadata() -> dict:
    settings = current_app.config["IDP_SETTINGS"]
    issuer = settings.issuer

    def endpoint(name: str) -> str:
        return issuer + url_for(name)

    return {
        "issuer": issuer,
        "authorization_endpoint": endpoint("oidc.authorize"),
        "token_endpoint": endpoint("oidc.token"),
        "userinfo_endpoint": endpoint("oidc.userinfo"),
        "jwks_uri": endpoint("oidc.jwks"),
        "revocation_endpoint": endpoint("oidc.revoke"),
        "revocation_endpoint_auth_methods_supported": RevocationEndpoint.CLIENT_AUTH_METHODS,
        "revocation_endpoint_auth_signing_alg_values_supported": ASSERTION_ALGS,
        "introspection_endpoint": endpoint("oidc.introspect"),
        "introspection_endpoint_auth_methods_supported": IntrospectionEndpoint.CLIENT_AUTH_METHODS,
        "introspection_endpoint_auth_signing_alg_values_supported": ASSERTION_ALGS,
        "scopes_supported": claims.SCOPES_SUPPORTED,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": list(GRANT_TYPES),
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": load_keyring(settings.keys.dir).algorithms,
        "token_endpoint_auth_methods_supported": CLIENT_AUTH_METHODS,
        "token_endpoint_auth_signing_alg_values_supported": ASSERTION_ALGS,  # private_key_jwt (RFC 8414 2)
        "claims_supported": claims.CLAIMS_SUPPORTED,
        "claims_parameter_supported": False,
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
        "code_challenge_methods_supported": S256CodeChallenge.SUPPORTED_CODE_CHALLENGE_METHOD,
        "acr_values_supported": claims.ACR_VALUES_SUPPORTED,
        "prompt_values_supported": ["none", "login", "consent"],
        "authorization_response_iss_parameter_supported": True,
        "ui_locales_supported": ["en"],
        "end_session_endpoint": endpoint("oidc.end_session"),
        "backchannel_logout_supported": True,
        "backchannel_logout_session_supported": True,
        "frontchannel_logout_supported": False,
        "registration_endpoint": endpoint("oidc.register_client"),
    }
