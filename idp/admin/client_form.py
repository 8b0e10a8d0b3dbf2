"""The client form of the admin console: from posted fields to the keywords of ``oidc.registration``, and back.

Only the shape is handled here (lines to lists, checkboxes to booleans, blank lifetimes to "the default");
``registration`` alone decides what is valid, so the console, the CLI and the registration API agree. A value the
service refuses is shown again as it was typed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from ..models import Client
from ..oidc.claims import SCOPES_SUPPORTED
from ..oidc.registration import (CONFIDENTIAL_METHODS, DEFAULT_SCOPE, GRANT_TYPES, ID_TOKEN_ALGS, LIFETIMES,
                                 ClientError)

MAX_LINES = 50
MAX_FIELD = 20000
FLAGS = ("trusted", "requires_2fa", "enabled")
TEXT = ("name", "backchannel_logout_uri", "jwks_uri", "jwks", "id_token_signed_response_alg",
        "token_endpoint_auth_method", "type", *LIFETIMES)
LISTS = ("redirect_uris", "post_logout_redirect_uris")


@dataclass(frozen=True)
class Choices:
    """What the form offers."""

    auth_methods: tuple = CONFIDENTIAL_METHODS
    grant_types: tuple = GRANT_TYPES
    scopes: tuple = tuple(SCOPES_SUPPORTED)
    algs: tuple = ID_TOKEN_ALGS
    lifetimes: tuple = LIFETIMES


CHOICES = Choices()


def blank_form() -> dict:
    """The values of a new client's form: what the service would choose."""
    return {"type": "confidential", "token_endpoint_auth_method": "client_secret_basic", "name": "",
            "redirect_uris": "", "post_logout_redirect_uris": "", "backchannel_logout_uri": "", "jwks": "",
            "jwks_uri": "", "grant_types": list(GRANT_TYPES), "scopes": DEFAULT_SCOPE.split(),
            "id_token_signed_response_alg": "RS256", "trusted": False, "requires_2fa": False, "enabled": True,
            **{name: "" for name in LIFETIMES}}


def form_of(client: Client) -> dict:
    """A stored client as form values."""
    return {"type": "public" if client.is_public else "confidential",
            "token_endpoint_auth_method": client.token_endpoint_auth_method, "name": client.name,
            "redirect_uris": "\n".join(client.redirect_uris),
            "post_logout_redirect_uris": "\n".join(client.post_logout_redirect_uris),
            "backchannel_logout_uri": client.backchannel_logout_uri or "", "jwks_uri": client.jwks_uri or "",
            "jwks": _json(client.jwks) if client.jwks else "", "grant_types": list(client.grant_types),
            "scopes": client.scope.split(), "id_token_signed_response_alg": client.id_token_signed_response_alg,
            "trusted": client.trusted, "requires_2fa": client.requires_2fa, "enabled": client.enabled,
            **{name: str(getattr(client, name) or "") for name in LIFETIMES}}


def read_form(posted: Mapping) -> dict:
    """The posted values, size-capped, in the shape of ``blank_form`` (for showing them again)."""
    values = {name: (posted.get(name) or "")[:MAX_FIELD].strip() for name in TEXT + LISTS}
    values["grant_types"] = [g for g in posted.getlist("grant_types") if g in GRANT_TYPES]
    values["scopes"] = [s for s in posted.getlist("scope") if s in SCOPES_SUPPORTED]
    values.update({flag: posted.get(flag) == "1" for flag in FLAGS})
    return values


def service_arguments(values: dict, client: Client | None = None) -> dict:
    """Keywords for ``create_client``, or ``update_client`` of ``client`` (whose type the form cannot change);
    ClientError for a shape error."""
    arguments = {
        "name": values["name"],
        "redirect_uris": _lines(values["redirect_uris"], "redirect_uri"),
        "post_logout_redirect_uris": _lines(values["post_logout_redirect_uris"], "post_logout_redirect_uri"),
        "backchannel_logout_uri": values["backchannel_logout_uri"] or None,
        "grant_types": values["grant_types"],
        "scope": " ".join(values["scopes"]),
        "id_token_signed_response_alg": values["id_token_signed_response_alg"],
        "jwks": values["jwks"] or None,
        "jwks_uri": values["jwks_uri"] or None,
        "trusted": values["trusted"],
        "requires_2fa": values["requires_2fa"],
        **{name: _seconds(values[name]) for name in LIFETIMES},
    }
    public = values["type"] == "public" if client is None else client.is_public
    if client is None:
        if values["type"] not in ("public", "confidential"):
            raise ClientError("type: confidential or public.")
        arguments.update(public=public, enabled=values["enabled"])
    if not public:
        arguments["token_endpoint_auth_method"] = values["token_endpoint_auth_method"]
    return arguments


def _lines(text: str, field: str) -> list[str]:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) > MAX_LINES:
        raise ClientError(f"{field}: at most {MAX_LINES}.")
    return lines


def _seconds(text: str):
    """Blank: the configured default; digits: seconds; anything else goes to the service, which says what is wrong."""
    if not text:
        return None
    return int(text) if text.isdigit() and len(text) < 10 else text


def _json(value) -> str:
    return json.dumps(value, indent=2)
