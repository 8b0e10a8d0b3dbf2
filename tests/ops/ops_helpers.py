"""Helpers for the operations tests: a browser behind a given proxy, and the audit trail's last event."""

from __future__ import annotations

import sqlalchemy as sa

from idp.extensions import db
from idp.models import AuditEvent

from helpers import TEST_PASSWORD, post

REDIS_TEST_URL = "redis://127.0.0.1:6379/1"
CLOSED_PORT_URL = "redis://127.0.0.1:1/1"


def behind_proxy(client, peer: str = "10.0.0.5", **headers: str):
    """Requests of ``client`` arrive from ``peer`` (the proxy) with these headers, e.g. X_FORWARDED_FOR="a"."""
    client.environ_base["REMOTE_ADDR"] = peer
    for name, value in headers.items():
        client.environ_base["HTTP_" + name.upper()] = value
    return client


def password_login(client, username: str = "dana", password: str = TEST_PASSWORD):
    return post(client, "/login", username=username, password=password)


def last_event(name: str) -> AuditEvent:
    db.session.expire_all()
    return db.session.scalars(sa.select(AuditEvent).where(AuditEvent.event == name).order_by(AuditEvent.id.desc())
                              .limit(1)).one()


def redis_or_skip(url: str = REDIS_TEST_URL):
    """A client for the test database (number 1 only), flushed; the test is skipped when Redis does not answer."""
    import pytest
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)
    try:
        client.ping()
    except redis.RedisError:
        pytest.skip(f"Redis does not answer at {url}")
    client.flushdb()
    return client


class FakeClock:
    """``idp.clock.now`` under the test's control (see the ``clock`` fixtures)."""

    def __init__(self):
        from datetime import UTC, datetime

        self.current = datetime.now(UTC).replace(microsecond=0)

    def now(self):
        return self.current

    def advance(self, seconds: float):
        from datetime import timedelta

        self.current += timedelta(seconds=seconds)
        return self.current
