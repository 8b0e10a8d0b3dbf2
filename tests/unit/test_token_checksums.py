"""Tokens, codes and cookie values are stored as a keyed SHA-256 (issue #8): a copy of the database alone cannot
confirm a guessed value, and the key is not the client secrets' key."""

from __future__ import annotations

import hashlib
import secrets

from idp.app import create_app
from idp.security.tokens import hash_client_secret, token_checksum


def test_a_checksum_is_keyed_by_the_client_secret_key(app, settings):
    value = secrets.token_urlsafe(32)
    checksum = token_checksum(value)
    assert checksum != hashlib.sha256(value.encode()).hexdigest()
    assert checksum == token_checksum(value) and len(checksum) == 64
    assert checksum != hash_client_secret(value)  # its own key, derived for this use

    other = create_app(settings.replace(client_secret_key=secrets.token_urlsafe(32)))
    with other.app_context():
        assert token_checksum(value) != checksum
    same = create_app(settings)  # another process with the same configuration finds the same rows
    with same.app_context():
        assert token_checksum(value) == checksum
