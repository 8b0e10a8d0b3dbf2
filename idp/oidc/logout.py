"""Single logout: the end-session endpoint (OpenID Connect RP-Initiated Logout 1.0) and logout tokens sent to the
relying parties of the ended session (OpenID Connect Back-Channel Logout 1.0).

RP-Initiated Logout: section 2 (parameters; ``id_token_hint`` must be ours, checked by ``hints``: signature,
``iss``, expired is fine; and its ``aud`` a known client), 3 (``post_logout_redirect_uri`` exactly as registered,
``state`` returned), 4 (an error is a page, never a redirect) and 6 (without a trustworthy hint the user confirms:
forced logout is a DoS; SECURITY.md AS-19). The session ends server-side (SES-5); refresh tokens are left alone
(``offline_access``).

Back-Channel Logout: section 2.4 (the logout token: ``typ`` logout+jwt, ``events``, ``sid``, ``sub``, no ``nonce``,
short-lived; AS-20), 2.5 (form-encoded POST), 2.7 (every RP that took part in the session) and 2.8 (the RP answers
200; we retry network errors and 5xx). Tokens are built in the request; a thread per RP posts them after the commit,
so a slow or dead RP never delays the user's logout.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

import requests
import sqlalchemy as sa
from sqlalchemy.orm import Session
from authlib.common.urls import add_params_to_uri
from authlib.oauth2.rfc6749 import InvalidRequestError
from flask import current_app, redirect, render_template, request, url_for
from joserfc import jwt

from .. import audit, clock
from ..auth.sessions import current_login_session, end_login_session
from ..extensions import csrf, db
from ..models import AuthorizationCode, Client, LoginSession, Token
from ..security import outbound
from ..security.tokens import new_secret
from . import hints, store
from .grants import OpenIDCode

log = logging.getLogger(__name__)

LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"
LOGOUT_TOKEN_TYPE = "logout+jwt"
LOGOUT_TOKEN_LIFETIME = 120
#: delivery of logout tokens: seconds per HTTP attempt, attempts, and the first pause between them (doubled after)
DELIVERY_TIMEOUT = 2.0
DELIVERY_ATTEMPTS = 3
DELIVERY_BACKOFF = 0.25
QUEUE_KEY = "idp.backchannel_deliveries"
#: request parameters we read, with their longest accepted length
PARAM_LIMITS = {"id_token_hint": 8192, "client_id": 64, "post_logout_redirect_uri": 2000, "state": 2048}

_threads: list[threading.Thread] = []
_threads_lock = threading.Lock()


@dataclass
class EndSessionRequest:
    """A validated logout request: ``client`` identified by ``client_id`` or the hint's ``aud``, the verified hint's
    claims, and a redirect URI registered for that client (with the ``state`` to return on it)."""

    client: Client | None = None
    hint: dict | None = None
    redirect_uri: str | None = None
    state: str | None = None

    def form_fields(self) -> dict:
        """What the confirmation form carries back (the hint was checked already; the client and URI are again)."""
        fields = {"client_id": self.client.client_id if self.client else None,
                  "post_logout_redirect_uri": self.redirect_uri, "state": self.state}
        return {key: value for key, value in fields.items() if value}


@dataclass(frozen=True)
class Delivery:
    """One logout token for one RP's ``backchannel_logout_uri``."""

    client_id: str
    uri: str
    sid: str
    logout_token: str = field(repr=False)


# RP-Initiated Logout 1.0


def end_session():
    """GET or POST ``/logout``: end the session now, ask the user first, or show an error page (sections 2-4, 6).

    A POST carrying ``csrf_token`` or ``confirm`` is the user's answer on our page and must pass CSRF; any other
    request is an RP's logout request, which ends the session at once only with a hint for this very session.
    """
    answered = request.method == "POST" and ("csrf_token" in request.form or "confirm" in request.form)
    if answered and current_app.config.get("WTF_CSRF_ENABLED", True):
        csrf.protect()
    try:
        logout_request = parse_request(request.values)
    except InvalidRequestError as error:
        log.info("end_session: error page (%s)", error.description)
        return render_template("oidc/logout_error.html", error=error.error, description=error.description), 400
    login_session = current_login_session()
    if login_session is not None and not answered and not hint_matches(logout_request.hint, login_session):
        return render_template("oidc/logout_confirm.html", login_session=login_session,
                               client=logout_request.client, fields=logout_request.form_fields())
    return finish_logout(logout_request, login_session)


def parse_request(values) -> EndSessionRequest:
    """Validate the parameters; ``ui_locales`` and ``logout_hint`` are ignored (section 2)."""
    for key, limit in PARAM_LIMITS.items():
        if len(values.get(key, "")) > limit:
            raise InvalidRequestError(f"Parameter '{key}' is too long.")
    hint = verify_id_token_hint(values["id_token_hint"]) if values.get("id_token_hint") else None
    client = _identify_client(values.get("client_id"), hint)
    redirect_uri = values.get("post_logout_redirect_uri") or None
    if redirect_uri is not None and (client is None or redirect_uri not in client.post_logout_redirect_uris):
        # section 3: exact match with a registered URI of an identified client, else no redirect at all
        raise InvalidRequestError("'post_logout_redirect_uri' is not registered for this client.")
    return EndSessionRequest(client=client, hint=hint, redirect_uri=redirect_uri,
                             state=(values.get("state") or None) if redirect_uri else None)


def verify_id_token_hint(value: str) -> dict:
    """Section 2: an ID token we signed for our issuer (``hints``; expired is fine) with an audience; a logout
    token (it has ``events``) is not an ID token."""
    claims = hints.verify_id_token_hint(value)
    if claims is None or not isinstance(claims.get("aud"), (str, list)) or "events" in claims:
        log.info("end_session: id_token_hint refused")
        raise InvalidRequestError("'id_token_hint' is not a valid ID token from this provider.")
    return claims


def _identify_client(client_id: str | None, hint: dict | None) -> Client | None:
    """Section 2: ``client_id`` must be an audience of the hint; the hint alone names its (single) audience."""
    audiences = [] if hint is None else [hint["aud"]] if isinstance(hint["aud"], str) else list(hint["aud"])
    if hint is not None and client_id and client_id not in audiences:
        raise InvalidRequestError("'client_id' is not the audience of 'id_token_hint'.")
    if hint is not None and not client_id:
        if len(audiences) != 1:
            raise InvalidRequestError("'id_token_hint' must name one audience, or send 'client_id'.")
        client_id = audiences[0]
    if not client_id:
        return None
    client = store.query_client(client_id)
    if client is None:
        raise InvalidRequestError("Unknown client.")
    return client


def hint_matches(hint: dict | None, login_session: LoginSession) -> bool:
    """A hint is for this session when it names its user and (if it has one) its ``sid``."""
    return (hint is not None and hint.get("sub") == login_session.user.subject
            and hint.get("sid", login_session.sid) == login_session.sid)


def finish_logout(logout_request: EndSessionRequest, login_session: LoginSession | None):
    """End the session, commit, notify the RPs in the background, then redirect or say so (sections 3, 5)."""
    if login_session is not None:
        deliveries = end_sessions([login_session])
        audit.record("logout", subject=login_session.user, sid=login_session.sid,
                     client_id=logout_request.client.client_id if logout_request.client else None,
                     notified=[d.client_id for d in deliveries])
    end_login_session()
    db.session.commit()
    code = 303 if request.method == "POST" else 302
    if logout_request.redirect_uri:
        params = {"state": logout_request.state} if logout_request.state else {}
        return redirect(add_params_to_uri(logout_request.redirect_uri, params), code=code)
    if request.method == "POST":
        return redirect(url_for("oidc.end_session"), code=303)
    return render_template("oidc/logout_done.html")


# Back-Channel Logout 1.0


def end_sessions(sessions) -> list[Delivery]:
    """End these SSO sessions and queue a logout token for every RP that took part in them; the tokens are sent
    in the background once the database session commits (and dropped if it rolls back). Every way a session
    ends (logout, "sign out" on the account page, a disabled user) goes through here."""
    deliveries = [d for login_session in sessions for d in backchannel_deliveries(login_session)]
    now = clock.now()
    for login_session in sessions:
        login_session.ended_at = login_session.ended_at or now
    db.session.info.setdefault(QUEUE_KEY, []).extend(deliveries)
    return deliveries


@sa.event.listens_for(Session, "after_commit")
def _send_queued(session) -> None:
    deliveries = session.info.pop(QUEUE_KEY, None)
    if deliveries:
        send_in_background(deliveries)


@sa.event.listens_for(Session, "after_rollback")
def _drop_queued(session) -> None:
    session.info.pop(QUEUE_KEY, None)


def backchannel_deliveries(login_session: LoginSession) -> list[Delivery]:
    """Section 2.7: a logout token for each RP with a back-channel URI that got a code or token in this session."""
    sid = login_session.sid
    took_part = sa.or_(Client.client_id.in_(sa.select(AuthorizationCode.client_id).where(AuthorizationCode.sid == sid)),
                       Client.client_id.in_(sa.select(Token.client_id).where(Token.sid == sid)))
    clients = db.session.scalars(sa.select(Client).where(took_part, Client.backchannel_logout_uri.is_not(None))
                                 .order_by(Client.client_id))
    return [Delivery(client_id=c.client_id, uri=c.backchannel_logout_uri, sid=sid,
                     logout_token=logout_token(c, sid, login_session.user.subject)) for c in clients]


def logout_token(client: Client, sid: str, subject: str) -> str:
    """Section 2.4, signed like the client's ID tokens (same key choice and ``kid``), typed ``logout+jwt``."""
    signer = OpenIDCode()
    header = {**signer.get_encode_header(client), "typ": LOGOUT_TOKEN_TYPE}
    now = clock.timestamp()
    claims = {"iss": current_app.config["IDP_SETTINGS"].issuer, "aud": client.client_id, "iat": now,
              "exp": now + LOGOUT_TOKEN_LIFETIME, "jti": new_secret(16), "sid": sid, "sub": subject,
              "events": {LOGOUT_EVENT: {}}}
    return jwt.encode(header, claims, signer.resolve_client_private_key(client), algorithms=[header["alg"]])


def send_in_background(deliveries: list[Delivery]) -> list[threading.Thread]:
    """Start one daemon thread per delivery (call after the commit); returns them, and ``wait_for_deliveries``
    joins every one started so far."""
    app = current_app._get_current_object()
    started = [threading.Thread(target=deliver, args=(app, d), name=f"backchannel-logout-{d.client_id}", daemon=True)
               for d in deliveries]
    for thread in started:
        thread.start()
    with _threads_lock:
        _threads[:] = [t for t in _threads if t.is_alive()] + started
    return started


def wait_for_deliveries(timeout: float | None = None) -> None:
    """Join the delivery threads (tests, and an orderly shutdown)."""
    with _threads_lock:
        threads = list(_threads)
    for thread in threads:
        thread.join(timeout)


def deliver(app, delivery: Delivery) -> bool:
    """Section 2.5: POST the token, retrying network errors and 5xx; a final failure is logged and audited.

    Only to a destination ``security.outbound`` allows now (the URI was checked when registered; its host's
    addresses, and the setting, may have changed since)."""
    try:
        outbound.check_destination(delivery.uri, outbound.allows_local(app.config["IDP_SETTINGS"]))
    except outbound.OutboundError as exc:
        log.warning("back-channel logout to %s (%s) not sent: %s", delivery.client_id, delivery.uri, exc)
        _record_failure(app, delivery, f"refused destination: {exc}")
        return False
    error = None
    for attempt in range(DELIVERY_ATTEMPTS):
        if attempt:
            time.sleep(DELIVERY_BACKOFF * 2 ** (attempt - 1))
        error, retry = _post(delivery)
        if error is None:
            return True
        if not retry:
            break
    log.warning("back-channel logout to %s (%s) failed: %s", delivery.client_id, delivery.uri, error)
    _record_failure(app, delivery, error)
    return False


def _post(delivery: Delivery) -> tuple[str | None, bool]:
    """One attempt: (None, _) on 200/204, else (what went wrong, whether another attempt may help)."""
    try:
        response = requests.post(delivery.uri, data={"logout_token": delivery.logout_token},
                                 timeout=DELIVERY_TIMEOUT, allow_redirects=False)
    except requests.RequestException as exc:
        return type(exc).__name__, True
    if response.status_code in (200, 204):
        return None, False
    return f"HTTP {response.status_code}", response.status_code >= 500


def _record_failure(app, delivery: Delivery, error: str) -> None:
    try:
        with app.app_context():
            audit.record("backchannel_logout_failed", client_id=delivery.client_id, sid=delivery.sid, error=error)
            db.session.commit()
    except Exception:  # a thread must not die loudly; the warning above is already logged
        log.exception("could not audit the failed back-channel logout to %s", delivery.client_id)
