"""The throttle stores keep one contract: the database and Redis give the same answers to the same calls, and a
burst of parallel attempts gets exactly as many through as the rule allows."""

from __future__ import annotations

import threading
from unittest import mock

import pytest
import sqlalchemy as sa

from idp.extensions import db
from idp.models import ThrottleCounter
from idp.ops.redis_client import connect
from idp.security.throttle_store import DatabaseStore, LockPolicy, RedisStore

from ops_helpers import REDIS_TEST_URL, FakeClock, redis_or_skip

POLICY = LockPolicy(free=5, base_delay=30, max_delay=900, hard_limit=100, hard_lock=86400)


@pytest.fixture
def clock():
    fake = FakeClock()
    with mock.patch("idp.clock.now", new=fake.now):
        yield fake


@pytest.fixture(params=["database", "redis"])
def store(request, app, settings):
    if request.param == "database":
        return DatabaseStore()
    redis_or_skip()
    return RedisStore(connect(settings.redis.__class__(url=REDIS_TEST_URL)), "idp-test:")


def _lock_seconds(store, key, clock) -> float | None:
    until = store.locked_until(key)
    return None if until is None else (until - clock.now()).total_seconds()


def test_five_failures_lock_for_the_base_delay_and_a_locked_key_counts_nothing(store, clock):
    for _ in range(4):
        assert store.reserve("password:sam", POLICY)
        assert store.locked_until("password:sam") is None
    assert store.reserve("password:sam", POLICY)  # the 5th attempt is checked, and earns the lock
    assert _lock_seconds(store, "password:sam", clock) == 30
    assert not store.reserve("password:sam", POLICY)
    clock.advance(29)
    assert not store.reserve("password:sam", POLICY)
    clock.advance(1)
    assert store.reserve("password:sam", POLICY)  # the 6th is checked, and locks again
    assert _lock_seconds(store, "password:sam", clock) == 30


@pytest.mark.parametrize("policy", [POLICY, LockPolicy(free=3, base_delay=7, max_delay=100, hard_limit=20,
                                                       hard_lock=5000),
                                    LockPolicy(free=3, base_delay=7, max_delay=100, hard_limit=20, hard_lock=5000,
                                               hard=False)])
def test_every_count_earns_the_lock_the_policy_says(store, clock, policy):
    for failures in range(1, 31):
        assert store.reserve("k", policy), failures
        expected = policy.lock_seconds(failures)
        assert _lock_seconds(store, "k", clock) == expected, failures
        clock.advance((expected or 0) + 1)


def test_a_success_resets_the_count(store, clock):
    for _ in range(4):
        store.reserve("second_factor:7", POLICY)
    store.reset("second_factor:7")
    db.session.commit()
    for _ in range(4):
        assert store.reserve("second_factor:7", POLICY)
    assert store.locked_until("second_factor:7") is None


def test_keys_are_independent(store, clock):
    for _ in range(5):
        store.reserve("password:a", POLICY)
    assert not store.reserve("password:a", POLICY)
    assert store.reserve("password:b", POLICY)


def test_parallel_attempts_get_exactly_the_free_ones_through(app, store, clock):
    """RFC 4226 7.3: no parallel burst gets past the lock (one atomic step per attempt)."""
    db.session.commit()
    n = 12
    barrier = threading.Barrier(n)
    results: list = []

    def attempt():
        with app.app_context(), mock.patch("idp.clock.now", new=clock.now):
            barrier.wait(timeout=30)
            results.append(store.reserve("password:race", POLICY))
            db.session.remove()

    threads = [threading.Thread(target=attempt) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(results) == [False] * (n - 5) + [True] * 5


def test_redis_counters_expire_a_cool_down_after_their_last_lock(app, settings, clock):
    client = redis_or_skip()
    store = RedisStore(connect(settings.redis.__class__(url=REDIS_TEST_URL)), "idp-test:")
    store.reserve("password:ttl", POLICY)
    assert 86390 <= client.ttl("idp-test:throttle:password:ttl") <= 86400
    for _ in range(4):
        store.reserve("password:ttl", POLICY)
    assert 86420 <= client.ttl("idp-test:throttle:password:ttl") <= 86430  # the 30 s lock, then the cool-down
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ThrottleCounter)) == 0
