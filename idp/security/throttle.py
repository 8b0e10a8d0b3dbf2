"""Throttling of guesses: per-key consecutive-attempt counters shared by every process (database or Redis).

An attempt is *reserved* before the secret is checked (``reserve``), in one atomic step that refuses while the key
is locked, so parallel guesses cannot exceed the limit (RFC 4226 7.3). A success ``reset``s the key. Delays grow
with the failures (NIST SP 800-63B 5.2.2): none for the first ``free_failures``, then ``base_delay`` doubling every
further ``free_failures`` up to ``max_delay``; at ``hard_limit`` consecutive failures the key cools down for
``hard_lock``. A lock always ends, so an attacker cannot lock a user out for good. The counters live in the
database, or in Redis when ``[redis] url`` is set (``throttle_store``).
"""

from __future__ import annotations

from datetime import datetime

from flask import current_app

from ..ops.metrics import count_throttled
from ..ops.redis_client import redis_client
from .throttle_store import DatabaseStore, FallbackStore, LockPolicy, RedisStore, ThrottleStore


def password_key(username: str) -> str:
    """By the name typed, so unknown and real usernames behave alike."""
    return "password:" + username.strip().lower()[:100]


def second_factor_key(user_id: int) -> str:
    return f"second_factor:{user_id}"


def ip_key(address: str | None, factor: str = "password") -> str:
    return f"ip:{factor}:{address or 'unknown'}"


def store() -> ThrottleStore:
    """Redis (falling back to the database) when configured, else the database."""
    client = redis_client()
    if client is None:
        return DatabaseStore()
    return FallbackStore(RedisStore(client, current_app.config["IDP_SETTINGS"].redis.key_prefix), DatabaseStore())


def policy(free: int | None = None, hard: bool = True) -> LockPolicy:
    s = current_app.config["IDP_SETTINGS"].throttle
    return LockPolicy(free=free or s.free_failures, base_delay=s.base_delay, max_delay=s.max_delay,
                      hard_limit=s.hard_limit, hard_lock=s.hard_lock, hard=hard)


def reserve(key: str, free: int | None = None, hard: bool = True) -> bool:
    """Count one attempt on ``key``; False (nothing may be checked) while the key is locked.

    ``hard`` False (client addresses) leaves out the long cool-down, so a shared office address is only slowed.
    """
    return reserve_all([(key, free, hard)])


def reserve_all(keys: list[tuple[str, int | None, bool]]) -> bool:
    """``reserve`` for several keys, in order and in one step: (key, free failures or None, hard).

    Stops at the first locked key (later keys are not counted), like a chain of ``reserve`` calls, with one commit
    instead of one per key. Keys are always taken in the callers' order (user, then address): no deadlock.
    """
    locked = store().reserve_all([(key, policy(free, hard)) for key, free, hard in keys])
    if locked is not None:
        count_throttled(locked)
    return locked is None


def reset(key: str) -> None:
    """A success: the count starts again (in the database, written just before the caller's request commits)."""
    store().reset(key)


def locked_until(key: str) -> datetime | None:
    return store().locked_until(key)
