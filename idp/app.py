"""The application factory: settings → extensions → operations (ops/) → blueprints, error handlers and security headers."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from .config import Settings, load_settings
from .db import configure_sqlite, engine_options, ping_idle_connections, resolve_database_url
from .errors import register_error_handlers
from .extensions import csrf, db, login_manager
from .ops import init_operations
from .security.passwords import Passwords
from .security.tokens import token_lookup_key

ROOT = Path(__file__).resolve().parent.parent

#: Sent on every response (RFC 9700 4.16 clickjacking, 4.2.4 referrer leakage).
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
                               "frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def create_app(settings: Settings | None = None) -> Flask:
    """Create the idp app from ``settings`` (default: the file named by IDP_CONFIG, or instance/config.toml)."""
    settings = settings or load_settings()
    _check_keys(settings)
    app = Flask("idp", template_folder=str(ROOT / "templates"), static_folder=str(ROOT / "static"))
    _configure(app, settings)
    db.init_app(app)
    with app.app_context():
        configure_sqlite(db.engine, settings.database.sqlite_busy_timeout)
        if db.engine.dialect.name == "postgresql" and settings.database.pool_pre_ping:
            ping_idle_connections(db.engine)
    init_operations(app)  # first: its request timer and request id see every request, even one CSRF refuses
    csrf.init_app(app)
    login_manager.init_app(app)
    app.extensions["idp.passwords"] = Passwords(settings.passwords, settings.server.workers)

    from .account.views import bp as account_bp
    from .admin.views import bp as admin_bp
    from .auth.devices import write_device_cookie
    from .auth.sessions import write_session_cookie
    from .auth.views import bp as auth_bp
    from .delivery.views import bp as dev_bp
    from .oidc.server import init_oidc
    from .oidc.views import bp as oidc_bp
    from .people.views import bp as people_bp

    init_oidc(app)
    app.register_blueprint(auth_bp)
    app.register_blueprint(oidc_bp)
    app.register_blueprint(dev_bp)
    app.register_blueprint(account_bp)
    app.register_blueprint(people_bp)
    app.register_blueprint(admin_bp)
    register_error_handlers(app)
    app.after_request(write_session_cookie)
    app.after_request(write_device_cookie)
    app.after_request(_security_headers)
    return app


def _check_keys(settings: Settings) -> None:
    """Refuse to start with unusable key files (e.g. readable by others); a missing directory is made later."""
    from .oidc.keys import load_keyring

    if Path(settings.keys.dir).is_dir():
        load_keyring(settings.keys.dir)


def _configure(app: Flask, settings: Settings) -> None:
    secure = settings.issuer.startswith("https://")
    app.config.update(
        IDP_SETTINGS=settings,
        IDP_CLIENT_SECRET_KEY=settings.client_secret_key,
        IDP_TOKEN_LOOKUP_KEY=token_lookup_key(settings.client_secret_key),
        SECRET_KEY=settings.secret_key,
        SQLALCHEMY_DATABASE_URI=resolve_database_url(settings.database.url),
        SQLALCHEMY_ECHO=settings.database.echo,
        SQLALCHEMY_ENGINE_OPTIONS=engine_options(settings.database),
        SESSION_COOKIE_NAME=f"__Host-{settings.session.flow_cookie_name}" if secure else settings.session.flow_cookie_name,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=secure,
        MAX_CONTENT_LENGTH=settings.server.max_content_length,
        MAX_FORM_MEMORY_SIZE=settings.server.max_content_length,
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the flow cookie
    )


def _security_headers(response):
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    response.headers.setdefault("Cache-Control", "no-store")
    return response


@login_manager.request_loader
def _load_user_from_session(_request):
    from .auth.sessions import current_login_session

    login_session = current_login_session()
    return login_session.user if login_session else None


