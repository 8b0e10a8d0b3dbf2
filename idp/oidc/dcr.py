"""Dynamic Client Registration (RFC 7591) and its management protocol (RFC 7592), on the one client service.

- ``POST /register`` (RFC 7591 3.1) needs an initial access token (RFC 7591 3) that an administrator issues with
  ``idp clients issue-registration-token``; a missing, unknown, expired, revoked or used-up one is a 401
  ``invalid_token`` (RFC 6750 3.1). One use is spent atomically and rolled back with a refused registration.
- The client metadata (RFC 7591 2) that idp understands is shape-checked here and handed to ``registration``
  (``create_client``, ``update_client``), which alone decides what is valid; other fields are ignored (RFC 7591 2).
  Its refusals become ``invalid_redirect_uri`` or ``invalid_client_metadata`` (RFC 7591 3.2.2). A registered client
  is never trusted: its users see the consent page.
- The response (RFC 7591 3.2.1) has the secret once, the stored metadata, and for RFC 7592 a registration access
  token and the client configuration endpoint ``/register/<client_id>``: read (RFC 7592 2.1), full replace
  (2.2) and delete (2.3). A token that is not this client's is a 401 whatever the reason (RFC 7592 2: no hint
  whether the client exists).

The endpoints plug into Authlib's server (errors, JSON request), but replace the flows of its
``ClientRegistrationEndpoint`` / ``ClientConfigurationEndpoint``: those validate metadata with their own claims
classes, make the client id and secret before saving, answer a missing token with 400 ``access_denied`` and tell an
unknown client from another client's token.
"""

from __future__ import annotations

import json

from authlib.consts import default_json_headers
from authlib.oauth2.rfc6749 import InvalidRequestError
from authlib.oauth2.rfc6749.requests import JsonPayload, JsonRequest
from authlib.oauth2.rfc6750 import InvalidTokenError
from authlib.oauth2.rfc7591 import ClientRegistrationEndpoint, InvalidClientMetadataError, InvalidRedirectURIError
from authlib.oauth2.rfc7592 import ClientConfigurationEndpoint
from flask import current_app, request as flask_request, url_for
from werkzeug.exceptions import HTTPException

from .. import audit
from ..extensions import db
from ..models import Client
from . import registration
from .registration import DEFAULT_GRANT_TYPES, DEFAULT_SCOPE, ClientError

#: RFC 7591 2 metadata idp understands → (the service's keyword, JSON type)
METADATA = {
    "client_name": ("name", str),
    "redirect_uris": ("redirect_uris", list),
    "post_logout_redirect_uris": ("post_logout_redirect_uris", list),
    "backchannel_logout_uri": ("backchannel_logout_uri", str),
    "grant_types": ("grant_types", list),
    "response_types": ("response_types", list),
    "scope": ("scope", str),
    "token_endpoint_auth_method": ("token_endpoint_auth_method", str),
    "id_token_signed_response_alg": ("id_token_signed_response_alg", str),
    "jwks": ("jwks", dict),  # private_key_jwt (RFC 7523): the client's public keys, or
    "jwks_uri": ("jwks_uri", str),  # where idp fetches them
}
#: what an omitted field means in a full replace (RFC 7592 2.2): what a new registration gets
REPLACE_DEFAULTS = {"name": "", "redirect_uris": [], "post_logout_redirect_uris": [], "backchannel_logout_uri": None,
                    "grant_types": list(DEFAULT_GRANT_TYPES), "scope": DEFAULT_SCOPE,
                    "id_token_signed_response_alg": "RS256",
                    "jwks": None, "jwks_uri": None}
#: RFC 7592 2.2: assigned by the server, never sent in an update
SERVER_ASSIGNED = ("registration_access_token", "registration_client_uri", "client_secret_expires_at",
                   "client_id_issued_at")
#: the service's field names in its messages → RFC 7591 names
FIELD_NAMES = {"name": "client_name", "redirect_uri": "redirect_uris",
               "post_logout_redirect_uri": "post_logout_redirect_uris"}
MAX_STRING, MAX_ITEMS = 2000, 50


class JsonBody(JsonPayload):
    """The body as a JSON object, parsed on first use; anything else is ``invalid_client_metadata``, never a 500."""

    def __init__(self):
        self._data = None

    @property
    def data(self) -> dict:
        if self._data is None:
            self._data = _parse_body()
        return self._data


def _parse_body() -> dict:
    try:
        data = json.loads(flask_request.get_data(cache=True) or b"null")
    except HTTPException:  # werkzeug: larger than MAX_CONTENT_LENGTH
        raise InvalidClientMetadataError("The request body is too large.") from None
    except (ValueError, RecursionError):
        raise InvalidClientMetadataError("The request body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise InvalidClientMetadataError("The request body must be a JSON object.")
    return data


def json_request() -> JsonRequest:
    oauth_request = JsonRequest(flask_request.method, flask_request.url, flask_request.headers)
    oauth_request.payload = JsonBody()
    return oauth_request


def bearer_token(oauth_request) -> str | None:
    scheme, _, value = (oauth_request.headers.get("Authorization") or "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else None


def read_metadata(data: dict) -> dict:
    """The fields idp understands, by the service's names, checked for JSON shape only (the service validates)."""
    metadata = {}
    for field, (name, kind) in METADATA.items():
        value = data.get(field)
        if value is None:
            continue
        if kind is dict:
            if not isinstance(value, dict):
                raise InvalidClientMetadataError(f"{field}: must be a JSON object.")
            metadata[name] = value
            continue
        strings = [value] if kind is str else value if isinstance(value, list) else None
        if strings is None or len(strings) > MAX_ITEMS or not all(isinstance(s, str) and len(s) <= MAX_STRING
                                                                  for s in strings):
            shape = "a string" if kind is str else f"a list of at most {MAX_ITEMS} strings"
            raise InvalidClientMetadataError(f"{field}: must be {shape} (of at most {MAX_STRING} characters).")
        metadata[name] = value
    if set(metadata.pop("response_types", ["code"])) != {"code"}:
        raise InvalidClientMetadataError("response_types: only ['code'] is supported.")
    return metadata


def metadata_error(exc: ClientError):
    """RFC 7591 3.2.2: ``invalid_redirect_uri`` for a redirect URI, ``invalid_client_metadata`` for the rest."""
    field, _, rest = exc.public.partition(":")
    message = f"{FIELD_NAMES.get(field, field)}:{rest}" if rest else exc.public
    cls = InvalidRedirectURIError if field == "redirect_uri" else InvalidClientMetadataError
    return cls(error_description(message))


def error_description(text: str, limit: int = 300) -> str:
    """RFC 6749 5.2: printable ASCII without ``"`` and ``\\``; the service quotes values, which may hold anything."""
    text = "".join(c if 0x20 <= ord(c) <= 0x7E and c not in '"\\' else "?" for c in text)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def client_information(client: Client) -> dict:
    """The client as registered (RFC 7591 3.2.1), without the secret, which is not kept."""
    info = {"client_id": client.client_id, "client_id_issued_at": int(client.created_at.timestamp()),
            "client_name": client.name, "redirect_uris": client.redirect_uris,
            "post_logout_redirect_uris": client.post_logout_redirect_uris, "grant_types": client.grant_types,
            "response_types": client.response_types, "scope": client.scope,
            "token_endpoint_auth_method": client.token_endpoint_auth_method,
            "id_token_signed_response_alg": client.id_token_signed_response_alg}
    for name in ("backchannel_logout_uri", "jwks", "jwks_uri"):
        if getattr(client, name):
            info[name] = getattr(client, name)
    if not client.is_public:
        info["client_secret_expires_at"] = 0  # secrets do not expire (they are rotated by an administrator)
    return info


def registration_info(client: Client, token: str) -> dict:
    issuer = current_app.config["IDP_SETTINGS"].issuer
    return {"registration_access_token": token,
            "registration_client_uri": issuer + url_for("oidc.client_configuration", client_id=client.client_id)}


class RegistrationEndpoint(ClientRegistrationEndpoint):
    """RFC 7591 3: ``POST /register`` with an initial access token."""

    def create_endpoint_request(self, request):
        return json_request()

    def create_registration_response(self, request):
        initial = self.authenticate_token(request)
        metadata = read_metadata(request.payload.data)
        try:
            client, secret = self.register(metadata)
        except ClientError as exc:
            raise metadata_error(exc) from None
        token = registration.issue_registration_access_token(client)
        audit.record("client_registered", client_id=client.client_id, registration_token_id=initial.id,
                     public=client.is_public)
        body = {**client_information(client), **({"client_secret": secret} if secret else {}),
                **registration_info(client, token)}
        return 201, body, default_json_headers

    def authenticate_token(self, request):
        initial = registration.use_registration_token(bearer_token(request))
        if initial is None:
            raise InvalidTokenError("The initial access token is missing, unknown, expired, revoked or used up.")
        return initial

    def register(self, metadata: dict):
        """``create_client``, never trusted (a token method of ``none`` makes a public client)."""
        return registration.create_client(name=metadata.pop("name", ""),
                                          redirect_uris=metadata.pop("redirect_uris", []), trusted=False, **metadata)


class ConfigurationEndpoint(ClientConfigurationEndpoint):
    """RFC 7592 2: ``/register/<client_id>`` with that client's registration access token."""

    def create_endpoint_request(self, request):
        return json_request()

    def create_configuration_response(self, request):
        request.client = self.authenticate_token(request)
        request.credential = bearer_token(request)
        if request.method == "GET":
            audit.record("client_registration_read", client_id=request.client.client_id)
            return self.create_read_client_response(request.client, request)
        if request.method == "DELETE":
            return self.create_delete_client_response(request.client, request)
        return self.create_update_client_response(request.client, request)

    def authenticate_token(self, request):
        """The client whose registration access token this is, if it is the client in the path; else a 401."""
        client = registration.find_client_by_registration_access_token(bearer_token(request))
        if client is None or client.client_id != (flask_request.view_args or {}).get("client_id"):
            raise InvalidTokenError("The registration access token is not valid for this client.")
        return client

    def create_update_client_response(self, client, request):
        """RFC 7592 2.2: the body is the whole metadata, with this client's id and, if any, its current secret."""
        data = request.payload.data
        sent = [name for name in SERVER_ASSIGNED if name in data]
        if sent:
            raise InvalidRequestError(f"{', '.join(sent)}: assigned by the server, not to be sent.")
        if data.get("client_id") != client.client_id:
            raise InvalidRequestError("client_id: must be this client's client_id.")
        secret = data.get("client_secret")
        if "client_secret" in data and not (isinstance(secret, str) and client.check_client_secret(secret)):
            raise InvalidRequestError("client_secret: must be the current secret; a client cannot choose one.")
        self.update_client(client, read_metadata(data), request)
        return self.create_read_client_response(client, request)

    def update_client(self, client, client_metadata, request):
        """Replace every field: an omitted one gets what a new registration would (RFC 7592 2.2)."""
        changes = {**REPLACE_DEFAULTS, **client_metadata}
        if changes.get("token_endpoint_auth_method") == client.token_endpoint_auth_method:
            del changes["token_endpoint_auth_method"]  # unchanged; a change is refused by the service
        try:
            registration.update_client(client, **changes)
        except ClientError as exc:
            raise metadata_error(exc) from None
        audit.record("client_registration_updated", client_id=client.client_id)
        return client

    def delete_client(self, client, request):
        audit.record("client_registration_deleted", client_id=client.client_id)
        registration.delete_client(client)

    def introspect_client(self, client):
        return client_information(client)

    def generate_client_registration_info(self, client, request):
        return registration_info(client, request.credential)  # the token just presented: not rotated


def respond(server, name: str):
    """Run a registration endpoint; keep its changes only when it succeeded (a refusal spends no token use)."""
    response = server.create_endpoint_response(name)
    if response.status_code >= 400:
        db.session.rollback()
        error = (response.get_json(silent=True) or {}).get("error")
        client_id = (flask_request.view_args or {}).get("client_id")
        audit.record("client_registration_refused", client_id=client_id[:64] if client_id else None,
                     method=flask_request.method, error=error)
    db.session.commit()
    return response
