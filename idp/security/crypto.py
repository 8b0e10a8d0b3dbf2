"""Encryption of secrets at rest (TOTP seeds, phone numbers) with Fernet (AES-128-CBC + HMAC-SHA256).

The key is ``mfa.encryption_key`` from settings; a database dump alone does not reveal an authenticator seed.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken
from flask import current_app


def _fernet() -> Fernet:
    return Fernet(current_app.config["IDP_SETTINGS"].mfa.encryption_key)


def encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt(ciphertext: str, ttl: int | None = None) -> str:
    """The plaintext; raises ``InvalidToken`` when the value was encrypted with another key, altered, or (with
    ``ttl``) encrypted more than ``ttl`` seconds ago."""
    return _fernet().decrypt(ciphertext.encode(), ttl=ttl).decode()


__all__ = ["encrypt", "decrypt", "InvalidToken"]
