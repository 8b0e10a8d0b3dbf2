"""Running idp in production: proxy headers, request ids and log lines, health and readiness, metrics, Redis.

``init_operations(app)`` wires them into an app (docs/deployment.md describes them for operators).
"""

from __future__ import annotations

from flask import Flask


def init_operations(app: Flask) -> None:
    from . import logs, metrics, proxy, redis_client, views

    settings = app.config["IDP_SETTINGS"]
    logs.configure_logging(settings.logging)
    proxy.trust_proxies(app, settings.server.proxy_hops)
    redis_client.init_redis(app, settings.redis)
    logs.init_request_ids(app)
    metrics.init_metrics(app)
    app.register_blueprint(views.bp)
