"""The documents idp publishes to relying parties, discovery and the JWKS: built once per process, served as bytes,
rebuilt when the keys change.

Every process checks the keys directory's listing on each request (``load_keyring``: one ``scandir`` and a stat per
key file, no file read), and a document is rebuilt when the key ring it was built from is no longer the current one.
So a rotation or retirement made by any process, or by ``idp keys`` on another host sharing the directory, is served
by every process from its next request: no TTL, no process that disagrees. Nothing else in these documents changes
while a process runs (settings and grants are fixed at start-up).

Relying parties may cache them (``Cache-Control: public``): the JWKS for at most ``keys.rotation_lead_time`` (and
300 s), so a new key is in their cache before it signs; discovery for an hour. An ``ETag`` lets them revalidate.
"""

from __future__ import annotations

import hashlib
import json
from typing import Callable

from flask import Response, current_app, request

from .keys import load_keyring

JWKS_MAX_AGE = 300
DISCOVERY_MAX_AGE = 3600


def document(name: str, build: Callable[[], dict], max_age: int) -> Response:
    body, etag = _cached(name, build)
    response = Response(body, mimetype="application/json")
    response.headers["Cache-Control"] = f"public, max-age={max_age}"
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.set_etag(etag)
    return response.make_conditional(request)


def jwks_max_age() -> int:
    return max(0, min(JWKS_MAX_AGE, current_app.config["IDP_SETTINGS"].keys.rotation_lead_time))


def _cached(name: str, build: Callable[[], dict]) -> tuple[bytes, str]:
    ring = load_keyring(current_app.config["IDP_SETTINGS"].keys.dir)
    cache = current_app.extensions.setdefault("idp.published", {})
    key = (name, request.script_root)
    hit = cache.get(key)
    if hit is None or hit[0] is not ring:  # a new KeyRing object means the directory listing changed
        body = json.dumps(build(), separators=(",", ":")).encode()
        hit = (ring, body, hashlib.sha256(body).hexdigest()[:32])
        cache[key] = hit
    return hit[1], hit[2]
