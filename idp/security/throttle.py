"""Throttling of guesses: per-key consecutive-attempt counters in the database, shared by every process.

An attempt is *reserved* before the secret is checked (``reserve``), in one atomic statement that refuses while the
key is locked, so parallel guesses cannot exceed the limit (RFC 4226 7.3). A success ``reset``s the key. Delays
grow with the failures (NIST SP 800-63B 5.2.2): none for the first ``free_failures``, then ``base_delay`` doubling
every further ``free_failures`` up to ``max_delay``; at ``hard_limit`` consecutive failures the key cools down for
``hard_lock``. A lock always ends, so an attacker cannot lock a user out for good.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session
from flask import current_app

from .. import clock
from ..extensions import db
from ..models import ThrottleCounter


def password_key(username: str) -> str:
    """By the name typed, so unknown and real usernames behave alike."""
    return "password:" + username.strip().lower()[:100]


def second_factor_key(user_id: int) -> str:
    return f"second_factor:{user_id}"


def ip_key(address: str | None, factor: str = "password") -> str:
    return f"ip:{factor}:{address or 'unknown'}"


def lock_duration(failures: int, free: int, hard: bool = True) -> timedelta | None:
    settings = current_app.config["IDP_SETTINGS"].throttle
    if hard and failures >= settings.hard_limit:
        return timedelta(seconds=settings.hard_lock)
    if failures < free:
        return None
    delay = settings.base_delay * 2 ** ((failures - free) // free)
    return timedelta(seconds=min(delay, settings.max_delay))


def reserve(key: str, free: int | None = None, hard: bool = True) -> bool:
    """Count one attempt on ``key``; False (nothing may be checked) while the key is locked. Commits.

    ``hard`` False (client addresses) leaves out the long cool-down, so a shared office address is only slowed.
    """
    return reserve_all([(key, free, hard)])


def reserve_all(keys: list[tuple[str, int | None, bool]]) -> bool:
    """``reserve`` for several keys, in order and in one transaction: (key, free failures or None, hard).

    Stops at the first locked key (later keys are not counted), like a chain of ``reserve`` calls; one commit
    instead of one per key. Keys are always taken in the callers' order (user, then address): no deadlock.
    """
    defaults = current_app.config["IDP_SETTINGS"].throttle
    now = clock.now()
    reserved = True
    for key, free, hard in keys:
        failures = _count_attempt(key, now)
        if failures is None:  # locked, or the key's first attempt ever: make sure its row exists, count again
            _ensure_rows([key])  # (a row another request just made counts too: no existence check to race)
            failures = _count_attempt(key, now)
        if failures is None:
            reserved = False
            break
        if (duration := lock_duration(failures, free or defaults.free_failures, hard)) is not None:
            _lock(key, now + duration)
    db.session.commit()
    return reserved


def _count_attempt(key: str, now: datetime) -> int | None:
    """failures + 1 unless the key is locked (or has no row yet): the new count, else None."""
    return db.session.execute(
        sa.update(ThrottleCounter)
        .where(ThrottleCounter.key == key,
               sa.or_(ThrottleCounter.locked_until.is_(None), ThrottleCounter.locked_until <= now))
        .values(failures=ThrottleCounter.failures + 1, last_failure_at=now)
        .returning(ThrottleCounter.failures)
    ).scalar()


def reset(key: str) -> None:
    """A success: the count starts again, written just before the caller's request commits.

    A client address's row is shared by every login from that address (an office, a NAT); updating it early would
    hold its row lock through the rest of the request and queue every other login from there behind it (seen in
    ``make bench``: logins waiting on ``throttle_counter`` locks). Deferred to ``before_commit``, the lock is held
    for the UPDATE and the COMMIT only. A rolled-back request resets nothing, as before.
    """
    pending = db.session.info.setdefault(_PENDING_RESETS, set())
    pending.add(key)


_PENDING_RESETS = "idp_throttle_resets"


@sa.event.listens_for(Session, "before_commit")
def _write_resets(session: Session) -> None:
    keys = session.info.pop(_PENDING_RESETS, None)
    for key in sorted(keys or ()):  # one order for every request: no deadlock between two of them
        session.execute(sa.update(ThrottleCounter).where(ThrottleCounter.key == key)
                        .values(failures=0, locked_until=None))


@sa.event.listens_for(Session, "after_rollback")
def _drop_resets(session: Session) -> None:
    session.info.pop(_PENDING_RESETS, None)


def locked_until(key: str) -> datetime | None:
    value = db.session.scalar(sa.select(ThrottleCounter.locked_until).where(ThrottleCounter.key == key))
    return value if value is not None and value > clock.now() else None


def _ensure_rows(keys: list[str]) -> None:
    table = ThrottleCounter.__table__
    if db.engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    db.session.execute(insert(table).values([{"key": key, "failures": 0} for key in keys])
                       .on_conflict_do_nothing(index_elements=["key"]))


def _lock(key: str, until: datetime) -> None:
    db.session.execute(sa.update(ThrottleCounter).where(ThrottleCounter.key == key).values(locked_until=until))
