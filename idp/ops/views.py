"""Blueprint "ops": liveness, readiness and metrics for load balancers and Prometheus.

No session, no CSRF token, no database work in ``/healthz``; cheap enough to be polled every second.
"""

from __future__ import annotations

from flask import Blueprint, jsonify

from ..extensions import csrf
from . import health
from .metrics import metrics_response

bp = Blueprint("ops", __name__)


@bp.route("/healthz")
@csrf.exempt
def healthz():
    """The process answers (nothing else is checked)."""
    return jsonify(status="ok")


@bp.route("/readyz")
@csrf.exempt
def readyz():
    """200 when the database answers at the newest migration and Redis (if configured) answers, else 503 naming
    what failed."""
    failed = health.readiness()
    if failed:
        return jsonify(status="unavailable", failed=failed), 503
    return jsonify(status="ok")


@bp.route("/metrics")
@csrf.exempt
def metrics():
    return metrics_response()
