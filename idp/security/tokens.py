"""Random secrets and how they are kept: client secrets, tokens, codes and cookie values as keyed SHA-256 (HMAC).

Client secrets and tokens are long random values (256 bits), so a fast keyed hash is right for them and keeps the
token endpoint fast; argon2id is for people's passwords (security/passwords.py). Both keys come from
``client_secret_key``: a copy of the database alone cannot confirm a guessed value. Changing that key invalidates
every client secret, and every token, code and session issued before.
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
    """Keyed SHA-256 hex of a token, code or cookie value: how it is stored and looked up."""
    key = current_app.config["IDP_TOKEN_LOOKUP_KEY"]
    return hmac.new(key, value.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()


def token_lookup_key(client_secret_key: str) -> bytes:
    """The key of ``token_checksum``: derived from ``client_secret_key`` for this one use (not the same key as the
    client secrets')."""
    return hmac.new(client_secret_key.encode(), b"idp token lookup", hashlib.sha256).digest()


def hash_client_secret(secret: str, key: str | None = None) -> str:
    key = key if key is not None else current_app.config["IDP_CLIENT_SECRET_KEY"]
    return hmac.new(key.encode(), secret.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()


def check_client_secret(secret: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_client_secret(secret), stored_hash)
