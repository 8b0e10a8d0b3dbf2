"""Throttling with Redis configured: counters go to Redis; when Redis does not answer (closed port, or a server that
never replies) throttling falls back to the database for that call, never open, and other pages keep working."""

from __future__ import annotations

import socket
import time
from unittest import mock

import pytest
import sqlalchemy as sa

from idp.extensions import db
from idp.models import ThrottleCounter

from ops_helpers import CLOSED_PORT_URL, REDIS_TEST_URL, FakeClock, password_login, redis_or_skip


@pytest.fixture
def clock():
    fake = FakeClock()
    with mock.patch("idp.clock.now", new=fake.now):
        yield fake


def _database_counters() -> dict[str, int]:
    db.session.expire_all()
    return dict(db.session.execute(sa.select(ThrottleCounter.key, ThrottleCounter.failures)).all())


def _locks_after_five_failures(client) -> bool:
    for _ in range(5):
        assert password_login(client, password="wrong").status_code == 401
    return password_login(client).status_code == 401  # the right password while locked


@pytest.fixture
def redis_db():
    return redis_or_skip()


@pytest.mark.settings(redis={"url": REDIS_TEST_URL})
def test_with_redis_the_counters_live_in_redis_not_in_the_database(client, user, redis_db, clock):
    assert _locks_after_five_failures(client)
    assert _database_counters() == {}
    assert int(redis_db.hget("idp:throttle:password:dana", "failures")) == 6 - 1  # the 6th was refused uncounted
    assert redis_db.hget("idp:throttle:ip:password:127.0.0.1", "failures") is not None
    clock.advance(31)
    assert password_login(client).status_code == 303
    assert not redis_db.exists("idp:throttle:password:dana")  # a success resets


@pytest.mark.settings(redis={"url": CLOSED_PORT_URL})
def test_redis_on_a_closed_port_falls_back_to_the_database_and_still_throttles(client, user, clock):
    assert _locks_after_five_failures(client)
    assert _database_counters()["password:dana"] == 5
    clock.advance(31)
    assert password_login(client).status_code == 303


@pytest.fixture
def silent_server():
    """A TCP port that accepts connections and never answers (a hung Redis)."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(16)
        yield f"redis://127.0.0.1:{server.getsockname()[1]}/1"


def test_a_redis_that_never_answers_costs_only_its_timeout(app, settings, user, silent_server, clock):
    from idp import create_app

    hung = create_app(settings.replace(redis={"url": silent_server, "socket_timeout_ms": 200}))
    hung.config["TESTING"] = True
    client = hung.test_client()
    started = time.monotonic()
    assert password_login(client, password="wrong").status_code == 401
    assert time.monotonic() - started < 3  # two reserves at 200 ms each, not the default 5 s each
    with hung.app_context():
        assert _database_counters()["password:dana"] == 1
        db.session.remove()
        db.engine.dispose()


@pytest.mark.settings(redis={"url": CLOSED_PORT_URL})
def test_other_pages_keep_working_while_redis_is_down(client):
    assert client.get("/.well-known/openid-configuration").status_code == 200
    assert client.get("/login").status_code == 200
    assert client.get("/healthz").status_code == 200
