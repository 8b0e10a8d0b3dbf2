"""Prometheus metrics, counted where each event already happens, and served at ``/metrics`` behind a bearer token.

Under ``idp serve`` every worker writes its values to files in ``PROMETHEUS_MULTIPROC_DIR`` (a fresh directory the
master makes before forking, ``prepare_multiprocess_dir``); a scrape of any worker adds up all of them, and the
master's ``child_exit`` hook drops the gauges of a dead worker. ``prometheus_client`` is imported only when the
first metric is made, in a worker, after that variable is set (it picks its storage at import).

Labels are bounded: Flask endpoint names (not paths), known methods, status codes, method ids, grant types.
"""

from __future__ import annotations

import hmac
import os
import shutil
import tempfile
import time
from types import SimpleNamespace

from flask import Flask, Response, abort, current_app, has_app_context, request

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
HTTP_METHODS = {"GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH"}
FACTOR_METHODS = {"totp", "sms", "recovery", "webauthn"}
GRANT_TYPES = {"authorization_code", "refresh_token", "client_credentials"}
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

_metrics: SimpleNamespace | None = None


def _define() -> SimpleNamespace:
    from prometheus_client import Counter, Gauge, Histogram

    return SimpleNamespace(
        latency=Histogram("idp_http_request_duration_seconds", "Time to answer a request, per Flask endpoint.",
                          ["endpoint", "method", "status"], buckets=LATENCY_BUCKETS),
        logins=Counter("idp_logins_total", "Completed and failed sign-ins.", ["outcome", "method"]),
        second_factor=Counter("idp_second_factor_total", "Second-factor checks.", ["method", "outcome"]),
        tokens=Counter("idp_tokens_issued_total", "Tokens issued at the token endpoint.", ["grant_type"]),
        throttled=Counter("idp_throttled_total", "Attempts refused because their key was locked.", ["key"]),
        deliveries=Counter("idp_deliveries_total", "SMS and email handed over, or not.", ["channel", "outcome"]),
        redis_fallbacks=Counter("idp_redis_fallbacks_total", "Throttling calls Redis did not answer (database used)."),
        db_pool_in_use=Gauge("idp_db_pool_connections_in_use", "Database connections checked out of the pool.",
                             multiprocess_mode="livesum"),
    )


def _m() -> SimpleNamespace | None:
    """The metrics, made on first use when the app has metrics enabled; None otherwise."""
    global _metrics
    if not has_app_context() or not current_app.config["IDP_SETTINGS"].metrics.enabled:
        return None
    if _metrics is None:
        _metrics = _define()
    return _metrics


def init_metrics(app: Flask) -> None:
    if not app.config["IDP_SETTINGS"].metrics.enabled:
        return
    from sqlalchemy import event

    from ..extensions import db

    with app.app_context():
        _m()
        engine = db.engine
    event.listen(engine, "checkout", lambda *_: _metrics.db_pool_in_use.inc())
    event.listen(engine, "checkin", lambda *_: _metrics.db_pool_in_use.dec())
    app.before_request(_start_timer)
    app.after_request(_observe_latency)


def _start_timer():
    request.environ["idp.started"] = time.perf_counter()


def _observe_latency(response):
    started = request.environ.get("idp.started")
    if started is not None and (m := _m()):
        endpoint = request.url_rule.endpoint if request.url_rule else "unmatched"
        method = request.method if request.method in HTTP_METHODS else "other"
        m.latency.labels(endpoint, method, str(response.status_code)).observe(time.perf_counter() - started)
    return response


def count_audit_event(event: str, details: dict) -> None:
    """Sign-ins and second-factor outcomes, from the audit events that record them (``audit.record``)."""
    if not (m := _m()):
        return
    method = details.get("method")
    factor = method if method in FACTOR_METHODS else "other"
    throttled = details.get("reason") == "throttled"
    if event == "login_success":
        login_method = factor if method else ("remembered_device" if details.get("remembered_device") else "password")
        m.logins.labels("success", login_method).inc()
        if method:
            m.second_factor.labels(factor, "success").inc()
    elif event == "login_failed":
        m.logins.labels("throttled" if throttled else "failure", "password").inc()
    elif event == "second_factor_failed":
        m.second_factor.labels(factor, "throttled" if throttled else "failure").inc()


def count_token_issued(grant_type: str | None) -> None:
    if m := _m():
        m.tokens.labels(grant_type if grant_type in GRANT_TYPES else "other").inc()


def count_throttled(key: str) -> None:
    """``key`` is a throttle key ("password:sam", "ip:second_factor:192.0.2.1"); only its kind is a label."""
    if m := _m():
        parts = key.split(":")
        m.throttled.labels("_".join(parts[:2]) if parts[0] == "ip" else parts[0]).inc()


def count_delivery(channel: str, sent: bool) -> None:
    if m := _m():
        m.deliveries.labels(channel, "sent" if sent else "failed").inc()


def count_redis_fallback() -> None:
    if m := _m():
        m.redis_fallbacks.inc()


def metrics_response() -> Response:
    """``/metrics``: 404 when disabled, 401 without the configured bearer token."""
    settings = current_app.config["IDP_SETTINGS"].metrics
    if not settings.enabled:
        abort(404)
    given = request.headers.get("Authorization", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {settings.token}".encode()):
        return Response("unauthorized\n", 401, {"WWW-Authenticate": 'Bearer realm="metrics"'},
                        mimetype="text/plain")
    from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest, multiprocess

    registry = REGISTRY
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    return Response(generate_latest(registry), 200, {"Content-Type": CONTENT_TYPE_LATEST})


# --- gunicorn (master process) -------------------------------------------------------------------------------

def prepare_multiprocess_dir() -> str:
    """A fresh directory for the workers' metric files, set in the environment before any worker forks."""
    path = tempfile.mkdtemp(prefix="idp-metrics-")
    os.environ[MULTIPROC_ENV] = path
    return path


def mark_worker_dead(_server, worker) -> None:
    """gunicorn ``child_exit``: a dead worker's live gauges stop counting."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def remove_multiprocess_dir(_server) -> None:
    """gunicorn ``on_exit``."""
    if path := os.environ.get(MULTIPROC_ENV):
        shutil.rmtree(path, ignore_errors=True)
