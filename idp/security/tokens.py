"""Random secrets and how they are kept: client secrets as a keyed SHA-256, tokens and codes as SHA-256 checksums.

Client secrets and tokens are long random values (256 bits), so a fast keyed hash is right for them and keeps the
token endpoint fast; argon2id is for people's passwords (security/passwords.py).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from flask import current_app


def new_secret(nbytes: int = 32) -> str:
    """A URL-safe random value with ``nbytes`` of entropy."""
    return secrets.token_urlsafe(nbytes)


def token_checksum(value: str) -> str:
    """SHA-256 hex of a token, code or cookie value: how it is stored and looked up."""
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


def hash_client_secret(secret: str, key: str | None = None) -> str:
    key = key if key is not None else current_app.config["IDP_CLIENT_SECRET_KEY"]
    return hmac.new(key.encode(), secret.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()


def check_client_secret(secret: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_client_secret(secret), stored_hash)
