"""``id_token_hint``: an ID token we issued earlier, presented back to us (OIDC Core 3.1.2.1).

It is verified with our own published keys (RS256/ES256 only, never a key from its header) and our issuer; an
expired hint is still a valid hint (the spec allows it), so ``exp`` is not checked here.
"""

from __future__ import annotations

from flask import current_app
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from .keys import load_keyring

MAX_HINT_LENGTH = 8192


def verify_id_token_hint(value: str | None) -> dict | None:
    """The hint's claims when it is an ID token signed by us for our issuer; else None."""
    if not value or len(value) > MAX_HINT_LENGTH:
        return None
    settings = current_app.config["IDP_SETTINGS"]
    keys = KeySet([k.key for k in load_keyring(settings.keys.dir).keys])
    try:
        token = jwt.decode(value, keys, algorithms=["RS256", "ES256"])
    except (JoseError, ValueError, TypeError):
        return None
    claims = token.claims
    if claims.get("iss") != settings.issuer or not isinstance(claims.get("sub"), str):
        return None
    return claims
