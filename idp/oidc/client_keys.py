"""The public keys of private_key_jwt clients (RFC 7523, RFC 7591 2 ``jwks`` / ``jwks_uri``): checked when registered,
read when an assertion is verified.

A registered ``jwks`` is a JWK Set of public RSA or EC signing keys (no private members, no symmetric keys, each
with a ``kid`` when there are several). A ``jwks_uri`` is fetched by idp, so it follows ``security.outbound``
(https, public hosts; no redirects; a timeout and a size limit). Fetched sets are kept a short while per process:
a client that rotates its keys publishes the new one before it signs with it (as idp itself does).
"""

from __future__ import annotations

import json
import threading
import time

from flask import current_app
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from ..security import outbound

#: algorithms accepted on client assertions: asymmetric only (no HS*, no none)
ASSERTION_ALGS = ["RS256", "PS256", "ES256"]
MAX_JWKS_BYTES = 16384
MAX_KEYS = 10
MAX_FETCHED_BYTES = 65536
CACHE_SECONDS = 60

_cache: dict[str, tuple[float, KeySet]] = {}
_cache_lock = threading.Lock()


class ClientKeyError(ValueError):
    """A JWK Set that cannot serve as a client's public keys; the message says why."""


def validate_jwks(value) -> dict:
    """The JWK Set as stored; ClientKeyError unless it holds only public RSA/EC keys."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except (ValueError, RecursionError):
            raise ClientKeyError("not valid JSON") from None
    if not isinstance(value, dict) or not isinstance(value.get("keys"), list) or not value["keys"]:
        raise ClientKeyError('must be a JWK Set: {"keys": [...]} with at least one key')
    if len(value["keys"]) > MAX_KEYS or len(json.dumps(value)) > MAX_JWKS_BYTES:
        raise ClientKeyError(f"at most {MAX_KEYS} keys and {MAX_JWKS_BYTES} bytes")
    for item in value["keys"]:
        if not isinstance(item, dict) or item.get("kty") not in ("RSA", "EC"):
            raise ClientKeyError("only RSA and EC public keys are accepted")
        if any(name in item for name in ("d", "p", "q", "dp", "dq", "qi", "k")):
            raise ClientKeyError("holds private key material: register the public keys only")
    if len(value["keys"]) > 1 and not all(item.get("kid") for item in value["keys"]):
        raise ClientKeyError("every key needs a kid when there are several")
    try:
        KeySet.import_key_set(value)
    except (JoseError, ValueError, TypeError):
        raise ClientKeyError("a key cannot be read") from None
    return value


def public_keys(client) -> KeySet:
    """The client's keys: its registered ``jwks``, or its ``jwks_uri`` fetched (ClientKeyError when unusable)."""
    if client.jwks:
        return KeySet.import_key_set(client.jwks)  # checked by validate_jwks when it was registered
    if not client.jwks_uri:
        raise ClientKeyError("the client has no public keys")
    now = time.monotonic()
    with _cache_lock:
        cached = _cache.get(client.jwks_uri)
    if cached is not None and now - cached[0] < CACHE_SECONDS:
        return cached[1]
    settings = current_app.config["IDP_SETTINGS"]
    try:
        data = outbound.fetch_json(client.jwks_uri, timeout=settings.clients.jwks_fetch_timeout,
                                   max_bytes=MAX_FETCHED_BYTES, allow_local=outbound.allows_local(settings))
    except outbound.OutboundError as exc:
        raise ClientKeyError(f"jwks_uri {exc}") from None
    keys = KeySet.import_key_set(validate_jwks(data))
    with _cache_lock:
        _cache[client.jwks_uri] = (now, keys)
    return keys


def forget_cached(uri: str | None = None) -> None:
    """Drop fetched key sets (one URI, or all): after a client's keys changed, and between tests."""
    with _cache_lock:
        if uri is None:
            _cache.clear()
        else:
            _cache.pop(uri, None)
