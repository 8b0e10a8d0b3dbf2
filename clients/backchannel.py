"""The relying party's side of OpenID Connect Back-Channel Logout 1.0: validating logout tokens (section 2.6) and
remembering the sessions they end (section 2.7).

The panels keep their session in a signed cookie, which the RP cannot delete from the server; so a logout is
remembered in a small SQLite file (``sid``, or ``sub`` for a token without ``sid``) and every request that reads
the signed-in user checks it (``LogoutStore.is_logged_out``). The file is created on the first logout.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Callable

from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet

LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"
#: section 2.6 step 2: only asymmetric algorithms the provider uses; never "none"
ALGORITHMS = ["RS256", "ES256"]
ACCEPTED_TYPES = {"logout+jwt", "application/logout+jwt"}
MAX_TOKEN_LENGTH = 8192
#: clock skew allowed, and the oldest ``iat`` accepted (section 2.6 step 4 "iat"; limits replays)
LEEWAY = 60
MAX_AGE = 600

_SCHEMA = """CREATE TABLE IF NOT EXISTS logout (
    jti TEXT PRIMARY KEY, sid TEXT, sub TEXT, iat INTEGER, received_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS logout_sid ON logout (sid);
CREATE INDEX IF NOT EXISTS logout_sub ON logout (sub)"""


class LogoutTokenError(Exception):
    """A logout token that fails validation; the message is safe to return to the sender."""


def verify_logout_token(value: str, jwks: Callable[..., dict], issuer: str, client_id: str) -> dict:
    """Section 2.6: the token's claims, or ``LogoutTokenError``. ``jwks(force=True)`` re-reads the provider's keys
    when the token names an unknown ``kid`` (a rotation)."""
    if not value or len(value) > MAX_TOKEN_LENGTH:
        raise LogoutTokenError("Missing or oversized 'logout_token'.")
    try:
        try:
            token = jwt.decode(value, KeySet.import_key_set(jwks()), algorithms=ALGORITHMS)
        except InvalidKeyIdError:
            token = jwt.decode(value, KeySet.import_key_set(jwks(force=True)), algorithms=ALGORITHMS)
        jwt.JWTClaimsRegistry(leeway=LEEWAY, iss={"essential": True, "value": issuer},
                              aud={"essential": True, "value": client_id}, iat={"essential": True},
                              exp={"essential": True}, jti={"essential": True}).validate(token.claims)
    except (JoseError, ValueError, TypeError) as exc:
        reason = getattr(exc, "description", None) or getattr(exc, "error", None) or type(exc).__name__
        raise LogoutTokenError(f"The logout token failed verification ({reason}).") from None
    _check_logout_claims(token.header, token.claims)
    return token.claims


def _check_logout_claims(header: dict, claims: dict) -> None:
    """Section 2.6 steps 3-6 (and 2.4's explicit typing): what makes a JWT a logout token."""
    if "typ" in header and str(header["typ"]).lower() not in ACCEPTED_TYPES:
        raise LogoutTokenError("The token is not typed 'logout+jwt'.")
    events = claims.get("events")
    if not isinstance(events, dict) or not isinstance(events.get(LOGOUT_EVENT), dict):
        raise LogoutTokenError("The token has no back-channel logout event.")
    if "nonce" in claims:
        raise LogoutTokenError("A logout token must not contain 'nonce'.")
    if not any(isinstance(claims.get(key), str) and claims[key] for key in ("sid", "sub")):
        raise LogoutTokenError("The token names neither 'sid' nor 'sub'.")
    if claims["iat"] < time.time() - MAX_AGE:
        raise LogoutTokenError("The token was issued too long ago.")


class LogoutStore:
    """Logged-out sessions of one panel, in a SQLite file at ``path``."""

    def __init__(self, path: str | os.PathLike):
        self.path = os.fspath(path)

    @contextlib.contextmanager
    def _connection(self):
        with contextlib.closing(sqlite3.connect(self.path, timeout=5)) as conn, conn:
            conn.executescript(_SCHEMA)
            yield conn

    def remember(self, claims: dict) -> None:
        """Record a verified logout token; a replayed ``jti`` changes nothing."""
        os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
        with self._connection() as conn:
            conn.execute("INSERT OR IGNORE INTO logout (jti, sid, sub, iat, received_at) VALUES (?, ?, ?, ?, ?)",
                         (claims["jti"], claims.get("sid"), claims.get("sub"), claims["iat"], time.time()))

    def is_logged_out(self, sid: str | None, sub: str | None, signed_in_at: float) -> bool:
        """True when a logout named this session's ``sid``, or named its ``sub`` without a ``sid`` after the
        session began (section 2.7: such a token ends all of that user's sessions)."""
        if not os.path.exists(self.path):
            return False
        with self._connection() as conn:
            row = conn.execute("SELECT 1 FROM logout WHERE sid = ? OR (sid IS NULL AND sub = ? AND received_at > ?) "
                               "LIMIT 1", (sid, sub, signed_in_at)).fetchone()
        return row is not None
