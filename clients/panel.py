"""The relying-party app shared by the reseller panels (RCP and CRI): sign in with idp over OpenID Connect.

Authlib's Flask client does the protocol work: it reads idp's discovery document, sends ``state``, ``nonce`` and a
PKCE S256 challenge, keeps them in the Flask session, exchanges the code with ``client_secret_basic`` and verifies
the ID token (signature against the ``jwks_uri`` keys, ``iss``, ``aud``, ``nonce``, ``exp``). This module adds the
checks Authlib leaves to the application: the ``iss`` authorization-response parameter (RFC 9207), the issuer in
the discovery document, and an explicit audience check.

Logout is single logout. "Log out" clears the panel's session and sends the browser to idp's
``end_session_endpoint`` with ``id_token_hint``, ``client_id``, ``post_logout_redirect_uri`` and ``state``
(OpenID Connect RP-Initiated Logout 1.0 section 2). idp in turn POSTs a logout token to ``/backchannel-logout`` of
every panel the user signed in to (Back-Channel Logout 1.0 sections 2.5-2.8, see ``backchannel``); the panel
remembers the ended ``sid`` and forgets any session cookie that carries it.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import time
import tomllib
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field, fields
from datetime import datetime, timezone
from urllib.parse import urlsplit

import requests
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.flask_client import OAuth, OAuthError
from flask import Flask, jsonify, redirect, render_template, request, session, url_for
from flask_wtf.csrf import CSRFError, CSRFProtect
from joserfc.errors import JoseError
from werkzeug.exceptions import HTTPException

from .backchannel import LogoutStore, LogoutTokenError, verify_logout_token

log = logging.getLogger(__name__)

SCOPE = "openid profile email"
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
#: Keys of the signed-in user's record in the Flask session.
SESSION_USER_KEYS = ("sub", "name", "preferred_username", "email", "amr", "acr", "auth_time", "id_token")
#: Authorization requests still waiting for their callback that one browser session keeps (each is ~1 kB of cookie).
MAX_PENDING_LOGINS = 3
#: Where the default logout store lives: None for the app's instance folder (tests point it at a temporary one).
LOGOUT_STORE_DIR: str | None = None

_COOKIE_NAME = re.compile(r"[A-Za-z0-9_\-]+")
_MIN_SECRET_KEY_LENGTH = 16


@dataclass(frozen=True)
class PanelSettings:
    """One panel's configuration; invalid values raise ``ValueError`` naming the key."""

    name: str
    issuer: str
    client_id: str
    client_secret: str = field(repr=False)
    base_url: str
    cookie_name: str
    secret_key: str = field(repr=False)
    #: SQLite file remembering back-channel logouts; empty for ``<instance folder>/<client_id>-logouts.sqlite3``
    logout_store: str = ""

    def __post_init__(self):
        for item in fields(self):
            value = getattr(self, item.name)
            if not isinstance(value, str) or (item.default is MISSING and not value.strip()):
                raise ValueError(f"panel setting {item.name!r} must be a non-empty string")
        for key in ("issuer", "base_url"):
            _check_base_url(key, getattr(self, key))
        if not _COOKIE_NAME.fullmatch(self.cookie_name):
            raise ValueError("panel setting 'cookie_name' may only contain letters, digits, '_' and '-'")
        if len(self.secret_key) < _MIN_SECRET_KEY_LENGTH:
            raise ValueError(f"panel setting 'secret_key' must be at least {_MIN_SECRET_KEY_LENGTH} characters")

    @property
    def redirect_uri(self) -> str:
        return self.base_url + "/callback"

    @property
    def metadata_url(self) -> str:
        return self.issuer + "/.well-known/openid-configuration"

    @property
    def post_logout_redirect_uri(self) -> str:
        return self.base_url + "/"


def _check_base_url(key: str, value: str) -> None:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"panel setting {key!r} must be an http(s) URL, got {value!r}")
    if parts.query or parts.fragment or value.endswith("/"):
        raise ValueError(f"panel setting {key!r} must have no query, fragment or trailing '/', got {value!r}")


def load_panel_settings(path: str | os.PathLike, defaults: Mapping[str, str] | None = None) -> PanelSettings:
    """Read the ``[panel]`` table of a TOML file; keys missing there are taken from ``defaults``.

    Raises ``FileNotFoundError`` for a missing file and ``ValueError`` naming the key that is missing, unknown or
    invalid.
    """
    try:
        with open(path, "rb") as file:
            document = tomllib.load(file)
    except FileNotFoundError:
        raise FileNotFoundError(f"panel config file {os.fspath(path)!r} not found "
                                "(see config.example.toml, or run `idp demo` to write one)") from None
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{os.fspath(path)}: not valid TOML: {exc}") from None
    table = document.get("panel")
    if not isinstance(table, dict):
        raise ValueError(f"{os.fspath(path)}: missing [panel] table")
    known = [item.name for item in fields(PanelSettings)]
    unknown = sorted(set(table) - set(known))
    if unknown:
        raise ValueError(f"{os.fspath(path)}: unknown panel setting {unknown[0]!r}")
    values = {**(defaults or {}), **table}
    required = [item.name for item in fields(PanelSettings) if item.default is MISSING]
    for key in required:
        if key not in values:
            raise ValueError(f"{os.fspath(path)}: panel setting {key!r} is missing")
    try:
        return PanelSettings(**{key: values[key] for key in known if key in values})
    except ValueError as exc:
        raise ValueError(f"{os.fspath(path)}: {exc}") from None


class LoginError(Exception):
    """A sign-in that cannot go on; shown to the user as an error page."""

    def __init__(self, error: str, description: str, status: int = 400):
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.status = status


def create_panel_app(settings: PanelSettings) -> Flask:
    """A panel web app for ``settings``: home page, login through idp, callback and logout."""
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        SESSION_COOKIE_NAME=settings.cookie_name,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.base_url.startswith("https://"),
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
        PANEL_SETTINGS=settings,
    )
    csrf = CSRFProtect(app)
    oauth = OAuth(app)
    idp = oauth.register(
        "idp",
        client_id=settings.client_id,
        client_secret=settings.client_secret,
        server_metadata_url=settings.metadata_url,
        client_kwargs={
            "scope": SCOPE,
            "code_challenge_method": "S256",
            "token_endpoint_auth_method": "client_secret_basic",
        },
    )

    def provider_metadata() -> dict:
        try:
            metadata = idp.load_server_metadata()
        except (requests.RequestException, ValueError) as exc:
            log.warning("%s: cannot load %s: %s", settings.name, settings.metadata_url, exc)
            raise LoginError("temporarily_unavailable", "The sign-in service could not be reached.", 502) from None
        if metadata.get("issuer") != settings.issuer:
            log.error("%s: discovery issuer %r is not %r", settings.name, metadata.get("issuer"), settings.issuer)
            raise LoginError("invalid_issuer", "The sign-in service's configuration does not match its address.", 502)
        return metadata

    def forget_pending_login(state: str | None) -> None:
        if state:
            idp.framework.clear_state_data(session, state)

    def prune_pending_logins() -> None:
        prefix = f"_state_{idp.name}_"
        pending = sorted((key for key in session if key.startswith(prefix)), key=lambda key: session[key].get("exp", 0))
        for key in pending[: max(0, len(pending) - (MAX_PENDING_LOGINS - 1))]:
            session.pop(key)

    @app.after_request
    def security_headers(response):
        response.headers.update(SECURITY_HEADERS)
        return response

    @app.context_processor
    def panel_context():
        return {"panel_name": settings.name}

    @app.errorhandler(LoginError)
    def login_error(exc: LoginError):
        return render_template("error.html", error=exc.error, description=exc.description), exc.status

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError):
        return render_template("error.html", error="csrf_failed",
                               description="The form had expired or was not sent from this site. Please try again."), 400

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        return render_template("error.html", error=exc.name, description=exc.description), exc.code

    @app.get("/")
    def home():
        user = session.get("user")
        auth_time = None
        if user and isinstance(user.get("auth_time"), (int, float)):
            auth_time = datetime.fromtimestamp(user["auth_time"], timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
        return render_template("home.html", user=user, auth_time=auth_time, signed_out=returned_from_logout(idp))

    @app.get("/login")
    def login():
        provider_metadata()
        prune_pending_logins()
        return idp.authorize_redirect(settings.redirect_uri, nonce=secrets.token_urlsafe(32))

    @app.get("/callback")
    def callback():
        args = request.args
        state = args.get("state")
        if "iss" in args and args["iss"] != settings.issuer:  # RFC 9207: a mix-up, whatever the response says
            forget_pending_login(state)
            raise LoginError("invalid_issuer", "The response did not come from the expected sign-in service.")
        if "error" in args:
            forget_pending_login(state)
            raise LoginError(args["error"][:100], args.get("error_description", "")[:500]
                             or "The sign-in service refused the request.")
        if not state or idp.framework.get_state_data(session, state) is None:
            raise LoginError("invalid_state", "This sign-in is unknown or has expired. Please start again.")
        if not args.get("code"):
            forget_pending_login(state)
            raise LoginError("invalid_request", "The response carries no authorization code.")
        try:
            metadata = provider_metadata()
        except LoginError as exc:
            forget_pending_login(state)
            raise LoginError(exc.error, exc.description) from None
        if "iss" not in args and metadata.get("authorization_response_iss_parameter_supported"):
            forget_pending_login(state)
            raise LoginError("invalid_issuer", "The response does not name the sign-in service that sent it.")
        claims_options = {
            "iss": {"essential": True, "value": settings.issuer},
            "aud": {"essential": True, "value": settings.client_id},
            "sub": {"essential": True},
        }
        try:
            token = idp.authorize_access_token(claims_options=claims_options)  # clears the pending login itself
        except JoseError as exc:  # the ID token: signature, iss, aud, nonce, exp, ...
            log.warning("%s: ID token refused: %r", settings.name, exc)
            raise LoginError("invalid_id_token", f"The ID token failed verification ({exc.error}).") from None
        except AuthlibBaseError as exc:  # an error response from the token endpoint
            log.warning("%s: code exchange refused: %r", settings.name, exc)
            raise LoginError(exc.error or "server_error",
                             exc.description or "The sign-in service refused to complete the sign-in.") from None
        except (requests.RequestException, ValueError) as exc:
            log.warning("%s: code exchange failed: %r", settings.name, exc)
            raise LoginError("temporarily_unavailable", "The sign-in could not be completed; please try again.") from None
        claims = token.get("userinfo")
        if not claims:
            raise LoginError("invalid_token", "The sign-in service returned no ID token.")
        user = {key: claims.get(key) for key in SESSION_USER_KEYS if key != "id_token"}
        user["amr"] = list(claims.get("amr") or [])
        user["id_token"] = token["id_token"]
        session.clear()  # a fresh session (and CSRF token) for the signed-in user
        session["user"] = user
        session["sid"] = claims.get("sid")  # what idp's logout token will name (Back-Channel Logout 2.4)
        session["signed_in_at"] = time.time()
        return redirect(url_for("home"), 303)

    @app.post("/logout")
    def logout():
        """RP-Initiated Logout 2: forget the local session, then ask idp to end its session (and so every panel's)."""
        id_token = (session.get("user") or {}).get("id_token")
        session.clear()
        try:
            provider_metadata()
            response = idp.logout_redirect(settings.post_logout_redirect_uri, id_token, client_id=settings.client_id)
        except (LoginError, RuntimeError):  # idp unreachable, or no end_session_endpoint: a local logout only
            return redirect(url_for("home"), 303)
        response.status_code = 303  # keeps state in the session (Authlib), checked by home()
        return response

    add_backchannel_logout(app, settings, idp, csrf, provider_metadata)
    return app


def returned_from_logout(idp) -> bool:
    """RP-Initiated Logout 3: idp sends our ``state`` back; a match only lets the page confirm the logout."""
    if "state" not in request.args:
        return False
    try:
        idp.validate_logout_response()
    except OAuthError:
        return False
    return True


def add_backchannel_logout(app: Flask, settings: PanelSettings, idp, csrf: CSRFProtect, provider_metadata) -> None:
    """Back-Channel Logout 2.5-2.8: the endpoint idp posts logout tokens to, and the check that forgets the
    sessions they ended (the session is a cookie, so the ended ``sid`` is remembered in a ``LogoutStore``)."""
    logouts = LogoutStore(settings.logout_store or default_logout_store(app, settings))

    @app.before_request
    def forget_logged_out_session():
        user = session.get("user")
        if user and logouts.is_logged_out(session.get("sid"), user.get("sub"), session.get("signed_in_at", 0)):
            log.info("%s: session of %s ended by idp", settings.name, user.get("sub"))
            session.clear()

    @app.post("/backchannel-logout")
    @csrf.exempt  # server to server: no session, no CSRF token
    def backchannel_logout():
        try:
            provider_metadata()
            claims = verify_logout_token(request.form.get("logout_token", ""), idp.fetch_jwk_set, settings.issuer,
                                         settings.client_id)
        except (LoginError, LogoutTokenError, requests.RequestException, RuntimeError) as exc:
            log.warning("%s: logout token refused: %s", settings.name, exc)
            description = exc.description if isinstance(exc, LoginError) else str(exc)
            return no_store(jsonify(error="invalid_request", error_description=description)), 400
        logouts.remember(claims)
        log.info("%s: back-channel logout of sid %s sub %s", settings.name, claims.get("sid"), claims.get("sub"))
        return no_store(app.response_class(status=200))


def default_logout_store(app: Flask, settings: PanelSettings) -> str:
    return os.path.join(LOGOUT_STORE_DIR or app.instance_path, f"{settings.client_id}-logouts.sqlite3")


def no_store(response):
    """Back-Channel Logout 2.8: responses to the logout request are not cached."""
    response.headers["Cache-Control"] = "no-store"
    return response
