"""The optional Redis connection (``[redis] url``): one client per app, short timeouts, no retries.

No retries: a Redis that does not answer within ``connect_timeout_ms``/``socket_timeout_ms`` is left for this
call, and the caller falls back (throttling: to the database). The client is created in each worker after the fork.
"""

from __future__ import annotations

import redis
from flask import Flask, current_app
from redis.backoff import NoBackoff
from redis.retry import Retry


def connect(settings) -> redis.Redis:
    return redis.Redis.from_url(
        settings.url,
        socket_connect_timeout=settings.connect_timeout_ms / 1000,
        socket_timeout=settings.socket_timeout_ms / 1000,
        retry=Retry(NoBackoff(), 0),
        health_check_interval=0,
    )


def init_redis(app: Flask, settings) -> None:
    app.extensions["idp.redis"] = connect(settings) if settings.url else None


def redis_client() -> redis.Redis | None:
    """This app's Redis client, or None when ``[redis] url`` is empty."""
    return current_app.extensions.get("idp.redis")
