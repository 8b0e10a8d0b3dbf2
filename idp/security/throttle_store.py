"""Where throttling counters live: the database (default) or Redis, behind one small interface.

Both stores give the same answers for the same calls (tests/security/test_throttle_stores.py runs one contract
against each). Each reservation is one atomic step: refuse while locked, else count the attempt and, if that count
earns a lock, set it, so parallel guesses cannot slip past a limit. The database does it with one conditional
``UPDATE``; Redis with one Lua script. Redis forgets a key ``hard_lock`` seconds after its last failure or the end of
its lock; the database keeps it until a success.

When Redis does not answer within its timeouts, ``FallbackStore`` uses the database for that call (logged, and
counted in ``idp_redis_fallbacks_total``), so throttling never fails open; docs/deployment.md explains the trade.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

import redis
import sqlalchemy as sa
from sqlalchemy.orm import Session

from .. import clock
from ..extensions import db
from ..models import ThrottleCounter

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LockPolicy:
    """When a count earns a lock (NIST SP 800-63B 5.2.2): ``base_delay`` doubling every ``free`` failures after
    the first ``free``, up to ``max_delay``; ``hard_lock`` at ``hard_limit`` (only when ``hard``)."""

    free: int
    base_delay: int
    max_delay: int
    hard_limit: int
    hard_lock: int
    hard: bool = True

    def lock_seconds(self, failures: int) -> int | None:
        if self.hard and failures >= self.hard_limit:
            return self.hard_lock
        if failures < self.free:
            return None
        return min(self.base_delay * 2 ** ((failures - self.free) // self.free), self.max_delay)


class ThrottleStore(Protocol):
    def reserve_all(self, keys: list[tuple[str, LockPolicy]]) -> str | None:
        """Count one attempt on each key in order; at the first locked key stop (nothing more counted) and
        return it. None when every attempt was counted."""

    def reset(self, key: str) -> None:
        """A success: the count starts again."""

    def locked_until(self, key: str) -> datetime | None:
        """The end of the key's lock, if it is locked now."""


class OneKey:
    """``reserve`` for a single key, shared by the stores."""

    def reserve(self, key: str, policy: LockPolicy) -> bool:
        """Count one attempt; False (and nothing counted) while the key is locked."""
        return self.reserve_all([(key, policy)]) is None


class DatabaseStore(OneKey):
    """Counters in ``throttle_counter``; ``reserve_all`` commits, ``reset`` is written just before the request's
    own commit."""

    def reserve_all(self, keys: list[tuple[str, LockPolicy]]) -> str | None:
        now = clock.now()
        locked = None
        for key, policy in keys:
            failures = self._count_attempt(key, now)
            if failures is None:  # locked, or the key's first attempt ever: make sure its row exists, count again
                self._ensure_row(key)  # (a row another request just made counts too: no existence check to race)
                failures = self._count_attempt(key, now)
            if failures is None:
                locked = key
                break
            if (seconds := policy.lock_seconds(failures)) is not None:
                db.session.execute(_LOCK, {"k": key, "until": now + timedelta(seconds=seconds)})
        _commit_keeping_loaded(db.session())  # PostgreSQL: the rows stay locked until here, so a lock is set before
        return locked                          # a rival reads

    def reset(self, key: str) -> None:
        """Deferred to ``before_commit``: a client address's row is shared by every login from that address (an
        office, a NAT); updating it early would hold its row lock through the rest of the request and queue every
        other login from there behind it (seen in ``make bench``). A rolled-back request resets nothing."""
        db.session.info.setdefault(_PENDING_RESETS, {})[key] = None  # an ordered set

    def locked_until(self, key: str) -> datetime | None:
        value = db.session.scalar(_LOCKED_UNTIL, {"k": key})
        return value if value is not None and value > clock.now() else None

    @staticmethod
    def _count_attempt(key: str, now: datetime) -> int | None:
        """failures + 1 unless the key is locked (or has no row yet): the new count, else None."""
        return db.session.execute(_COUNT_ATTEMPT, {"k": key, "now": now}).scalar()

    @staticmethod
    def _ensure_row(key: str) -> None:
        if db.engine.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        db.session.execute(insert(_COUNTERS).values(key=key, failures=0).on_conflict_do_nothing(index_elements=["key"]))


# Core statements on the table, built once: the ORM's bulk-UPDATE path (synchronising loaded objects) cost more
# than the statement itself, and every sign-in step runs four of them.
_COUNTERS = ThrottleCounter.__table__
_KEY = _COUNTERS.c.key == sa.bindparam("k")
_COUNT_ATTEMPT = (
    sa.update(_COUNTERS)
    .where(_KEY, sa.or_(_COUNTERS.c.locked_until.is_(None), _COUNTERS.c.locked_until <= sa.bindparam("now")))
    .values(failures=_COUNTERS.c.failures + 1, last_failure_at=sa.bindparam("now"))
    .returning(_COUNTERS.c.failures)
)
_LOCK = sa.update(_COUNTERS).where(_KEY).values(locked_until=sa.bindparam("until"))
_RESET = sa.update(_COUNTERS).where(_KEY).values(failures=0, locked_until=None)
_LOCKED_UNTIL = sa.select(_COUNTERS.c.locked_until).where(_KEY)

_PENDING_RESETS = "idp_throttle_resets"


def _commit_keeping_loaded(session: Session) -> None:
    """Commit without expiring what the request has loaded: this commit only ends the counters' row locks (written
    with UPDATE statements, not through loaded objects), and expiring would make the login step read its user,
    flow and interaction again right after."""
    expire, session.expire_on_commit = session.expire_on_commit, False
    try:
        session.commit()
    finally:
        session.expire_on_commit = expire


@sa.event.listens_for(Session, "before_commit")
def _write_resets(session: Session) -> None:
    keys = session.info.pop(_PENDING_RESETS, None)
    # In the order they were reset, which is the order they were reserved (user, then address) in every caller: the
    # same order as reserve_all takes its row locks, so a commit and a rival's reservation cannot deadlock (sorted,
    # "ip:..." came first and PostgreSQL aborted one of them).
    for key in keys or ():
        session.execute(_RESET, {"k": key})


@sa.event.listens_for(Session, "after_rollback")
def _drop_resets(session: Session) -> None:
    session.info.pop(_PENDING_RESETS, None)


#: KEYS[1] the counter hash {failures, locked_until (ms)}; ARGV now_ms, free, base_delay, max_delay, hard_limit,
#: hard_lock, hard (0/1). Returns 1 when the attempt is counted, 0 while locked. Same rule as LockPolicy.
RESERVE_SCRIPT = """
local now = tonumber(ARGV[1])
local locked = tonumber(redis.call('HGET', KEYS[1], 'locked_until') or '0')
if locked > now then return 0 end
local failures = redis.call('HINCRBY', KEYS[1], 'failures', 1)
local free, base, max_delay = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local hard_limit, hard_lock, hard = tonumber(ARGV[5]), tonumber(ARGV[6]), ARGV[7] == '1'
local delay = -1
if hard and failures >= hard_limit then
  delay = hard_lock
elseif failures >= free then
  delay = math.min(base * 2 ^ math.floor((failures - free) / free), max_delay)
end
local ends = now
if delay >= 0 then
  ends = now + delay * 1000
  redis.call('HSET', KEYS[1], 'locked_until', string.format('%d', ends))
end
redis.call('PEXPIRE', KEYS[1], string.format('%d', ends - now + hard_lock * 1000))
return 1
"""


class RedisStore(OneKey):
    """Counters as Redis hashes under ``<prefix>throttle:<key>``."""

    def __init__(self, client: redis.Redis, prefix: str):
        self.client = client
        self.prefix = prefix + "throttle:"
        self._reserve = client.register_script(RESERVE_SCRIPT)

    def reserve_all(self, keys: list[tuple[str, LockPolicy]]) -> str | None:
        for key, policy in keys:
            args = [_ms(clock.now()), policy.free, policy.base_delay, policy.max_delay, policy.hard_limit,
                    policy.hard_lock, int(policy.hard)]
            if self._reserve(keys=[self.prefix + key], args=args) != 1:
                return key
        return None

    def reset(self, key: str) -> None:
        self.client.delete(self.prefix + key)

    def locked_until(self, key: str) -> datetime | None:
        value = self.client.hget(self.prefix + key, "locked_until")
        ends = datetime.fromtimestamp(int(float(value)) / 1000, UTC) if value is not None else None
        return ends if ends is not None and ends > clock.now() else None


class FallbackStore(OneKey):
    """Redis first; the database for any call Redis does not answer. Never "allow" on an error."""

    def __init__(self, primary: RedisStore, fallback: DatabaseStore):
        self.primary = primary
        self.fallback = fallback

    def reserve_all(self, keys: list[tuple[str, LockPolicy]]) -> str | None:
        return self._call("reserve_all", keys)

    def reset(self, key: str) -> None:
        self._call("reset", key)

    def locked_until(self, key: str) -> datetime | None:
        return self._call("locked_until", key)

    def _call(self, name: str, *args):
        try:
            return getattr(self.primary, name)(*args)
        except redis.RedisError as exc:
            from ..ops.metrics import count_redis_fallback

            log.warning("redis did not answer (%s); throttling with the database for this call", type(exc).__name__)
            count_redis_fallback()
            return getattr(self.fallback, name)(*args)


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)
