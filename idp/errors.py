"""Application errors and the one place that turns any error into a response.

Protocol errors are Authlib's ``OAuth2Error`` family, converted in ``oidc.views``. Everything else becomes an HTML
page, or JSON with an ``error`` member on API paths; werkzeug's 4xx (malformed or oversized input) included, and a
500 never shows a traceback. A database that cannot be reached (refused or lost connection, pool or statement
timeout) is a 503 with ``Retry-After`` and ``temporarily_unavailable``, not a 500: the request was rolled back
whole and may simply be sent again.
"""

from __future__ import annotations

import logging

import sqlalchemy.exc
from flask import current_app, g, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)

#: endpoints that speak JSON, not HTML
API_ENDPOINTS = {"oidc.token", "oidc.userinfo", "oidc.discovery", "oidc.jwks", "oidc.revoke", "oidc.introspect",
                 "oidc.register_client", "oidc.client_configuration", "auth.passkey_options",
                 "auth.second_factor_options", "account.webauthn_options"}


class IdpError(Exception):
    """An error raised on purpose. ``public`` is safe to show; ``detail`` goes to the log only."""

    status = 400
    public = "Something went wrong. Please try again."

    def __init__(self, public: str | None = None, *, detail: str | None = None):
        super().__init__(detail or public or self.public)
        self.public = public or self.public
        self.detail = detail


class LoginFailed(IdpError):
    status = 401
    public = "Incorrect username or password."


def _is_api() -> bool:
    return request.endpoint in API_ENDPOINTS or request.path.startswith(
        ("/token", "/userinfo", "/revoke", "/introspect", "/register"))


def _render(status: int, error: str, message: str):
    if _is_api():
        return jsonify(error=error, error_description=message), status
    return render_template("error.html", status=status, message=message), status


def database_unavailable(exc: BaseException | None) -> bool:
    """True for errors that say the database cannot serve now (not a bug): lost or refused connections, a full
    pool, a cancelled statement. Integrity and programming errors stay 500s."""
    if isinstance(exc, (sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError, sqlalchemy.exc.TimeoutError)):
        return True
    return isinstance(exc, sqlalchemy.exc.DBAPIError) and exc.connection_invalidated


def _unavailable(exc: BaseException):
    """503 with a Retry-After hint. The token endpoint's shape is RFC 6749 5.2 (JSON, no-store); ``temporarily_
    unavailable`` is the code RFC 6749 4.1.2.1 registers for this condition."""
    from .extensions import db, login_manager

    log.warning("database unavailable on %s %s: %s", request.method, request.path, type(exc).__name__)
    try:
        db.session.rollback()
    except Exception:  # the connection is gone; the pool has already invalidated it
        db.session.close()
    # The page must not ask the database again: Flask-Login's template context loads the user unless one is set.
    g._login_user = login_manager.anonymous_user()
    response = current_app.make_response(_render(503, "temporarily_unavailable",
                                                 "The service is temporarily unavailable. Please try again in a moment."))
    response.headers["Retry-After"] = str(current_app.config["IDP_SETTINGS"].database.retry_after)
    response.headers["Cache-Control"] = "no-store"
    return response


def register_error_handlers(app) -> None:
    @app.errorhandler(IdpError)
    def _idp_error(exc: IdpError):
        log.info("%s: %s", type(exc).__name__, exc.detail or exc.public)
        return _render(exc.status, "invalid_request", exc.public)

    @app.errorhandler(CSRFError)
    def _csrf_error(exc: CSRFError):
        return _render(400, "invalid_request", "This form has expired or was not sent from this site. Please go back, reload and try again.")

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        if database_unavailable(getattr(exc, "original_exception", None)):  # raised after the view, e.g. at commit
            return _unavailable(exc.original_exception)
        if exc.code is None or exc.code >= 500:
            return _render(exc.code or 500, "server_error", "The server could not complete the request.")
        if exc.response is not None:  # e.g. Authlib's bearer-token errors carry their own response
            return exc.response
        error = "invalid_request" if exc.code < 500 else "server_error"
        return _render(exc.code, error, exc.description or exc.name)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        if database_unavailable(exc):
            return _unavailable(exc)
        log.exception("unhandled error on %s %s", request.method, request.path)
        return _render(500, "server_error", "The server could not complete the request. Please try again later.")
