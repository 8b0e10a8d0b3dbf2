"""Hosted pages of the login: password, second factor, forced new password and the signed-in home page.

Sign-out is the end-session endpoint (``oidc.end_session``, RP-Initiated Logout 1.0), also for idp's own button.

Views parse input and choose the page; decisions live in ``service`` and ``flow``.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, jsonify, redirect, render_template, request, session, url_for

from .. import clock
from ..errors import IdpError, LoginFailed
from ..extensions import db
from ..oidc import interactions
from ..oidc.claims import ACR_MFA, ACR_PASSWORD
from . import devices, service
from . import flow as login_flow
from .methods import METHODS, webauthn
from .sessions import current_login_session, start_login_session

bp = Blueprint("auth", __name__)


@bp.get("/")
def home():
    return render_template("auth/home.html", login_session=current_login_session())


#: internal pages a login may return to (never a URL from the request: no open redirect)
AFTER_LOGIN = {"security": "account.security"}


def _continue(uid: str | None):
    if uid:
        return redirect(url_for("oidc.resume", uid=uid), code=303)
    return redirect(url_for(AFTER_LOGIN.get(session.pop("after_login", None), "auth.home")), code=303)


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Password step. With ``uid`` it belongs to a parked authorization request and resumes it afterwards."""
    uid = request.values.get("uid")
    ix = interactions.load_interaction(uid) if uid else None
    if request.method == "GET":
        if request.args.get("next") in AFTER_LOGIN:
            session["after_login"] = request.args["next"]
        hint = (ix.params.get("login_hint") if ix else None) or ""
        return _login_page(uid, hint)
    username = request.form.get("username", "")
    try:
        user = service.check_password(username, request.form.get("password", ""))
    except LoginFailed as exc:
        db.session.commit()  # keeps the audit record and throttle counts
        return _login_page(uid, username, error=exc.public, status=401)
    if user.password_change_required:
        login_flow.start_flow(user, uid, amr=["pwd"])
        db.session.commit()
        return redirect(url_for("auth.new_password"), code=303)
    two_factor = login_flow.has_second_factor(user)
    device = devices.remembered_device(user) if two_factor else None
    if two_factor and device is None:
        login_flow.start_flow(user, uid, amr=["pwd"])
        db.session.commit()
        return redirect(url_for("auth.second_factor", uid=uid) if uid else url_for("auth.second_factor"), code=303)
    start_login_session(user, amr=["pwd"], acr=ACR_PASSWORD, remembered_device_id=device.id if device else None)
    service.record_login(user, ["pwd"], uid, remembered_device=device is not None)
    db.session.commit()
    if uid is None and user.account.require_2fa:
        return redirect(url_for("account.security", required=1), code=303)  # the owner requires a second factor
    return _continue(uid)


def _login_page(uid: str | None, username: str, error: str | None = None, status: int = 200):
    return render_template("auth/login.html", uid=uid, username=username[:150], error=error,
                           passkeys=webauthn.available()), status


@bp.post("/login/passkey/options")
def passkey_options():
    """Options for a passkey sign-in (JSON): a challenge bound to this browser, no credential list (no
    enumeration: nothing here depends on who is signing in)."""
    if not webauthn.available():
        return jsonify(error="Passkeys are not available on this site."), 404
    options = service.passkey_options()
    db.session.commit()
    return Response(options, mimetype="application/json")


@bp.post("/login/passkey")
def passkey_login():
    """"Sign in with a passkey": a discoverable credential with user verification, instead of the password."""
    uid = request.form.get("uid") or None
    if uid:
        interactions.load_interaction(uid)
    try:
        user, amr = service.sign_in_with_passkey(request.form.get("credential", ""))
    except IdpError as exc:
        db.session.commit()
        return _login_page(uid, "", error=exc.public, status=exc.status)
    if user.password_change_required:
        login_flow.start_flow(user, uid, amr=amr)  # the new password first; the passkey already proved both factors
        db.session.commit()
        return redirect(url_for("auth.new_password"), code=303)
    start_login_session(user, amr=amr, acr=ACR_MFA)
    service.record_login(user, amr, uid, method="passkey")
    db.session.commit()
    return _continue(uid)


@bp.route("/login/new-password", methods=["GET", "POST"])
def new_password():
    """An administrator set this user's password: they choose their own before the sign-in goes on."""
    flow = login_flow.current_flow()
    if flow is None or not flow.user.password_change_required:
        abort(400, description="This sign-in has expired. Please start again from the application.")
    error = None
    if request.method == "POST":
        try:
            service.set_new_password(flow.user, request.form.get("new_password", ""),
                                     request.form.get("repeat_password", ""))
        except IdpError as exc:
            error = exc.public
        else:
            if login_flow.is_passwordless(flow):
                login_flow.complete_passwordless_flow(flow)
                service.record_login(flow.user, list(flow.amr), flow.interaction_uid, method="passkey")
                db.session.commit()
                return _continue(flow.interaction_uid)
            if login_flow.has_second_factor(flow.user):
                db.session.commit()
                return redirect(url_for("auth.second_factor"), code=303)
            flow.completed_at = clock.now()
            start_login_session(flow.user, amr=["pwd"], acr=ACR_PASSWORD)
            service.record_login(flow.user, ["pwd"], flow.interaction_uid)
            db.session.commit()
            return _continue(flow.interaction_uid)
    return render_template("auth/new_password.html", error=error), 400 if error else 200


@bp.route("/login/second-factor", methods=["GET", "POST"])
def second_factor():
    """Second step: the default method, or the one chosen under "Use another method"."""
    flow = login_flow.current_flow()
    if flow is None:
        abort(400, description="This sign-in has expired. Please start again from the application.")
    if flow.user.password_change_required:
        return redirect(url_for("auth.new_password"), code=303)  # the new password comes before the second factor
    methods = login_flow.login_methods(flow.user)
    method_id = request.values.get("method") or login_flow.default_method(flow.user, enrolled=methods)
    if method_id not in methods:
        abort(400, description="That sign-in method is not available for your account.")
    if request.method == "GET":
        return _second_factor_page(flow, method_id, methods, start=True)
    try:
        note = service.check_second_factor(flow, method_id, request.form.get("code", ""),
                                           remember=request.form.get("remember") == "1")
    except IdpError as exc:
        db.session.commit()
        return _second_factor_page(flow, method_id, methods, error=exc.public, status=exc.status)
    uid = flow.interaction_uid
    db.session.commit()
    if note:
        return render_template("auth/recovery_used.html", note=note, uid=uid)
    return _continue(uid)


@bp.post("/login/second-factor/webauthn")
def second_factor_options():
    """Options for the security-key step (JSON): the user's keys and a challenge bound to this login flow."""
    flow = login_flow.current_flow()
    if (flow is None or flow.user.password_change_required or "webauthn" not in login_flow.login_methods(flow.user)
            or not webauthn.available()):
        return jsonify(error="This sign-in has expired. Please start again from the application."), 400
    options = webauthn.authentication_options(webauthn.SECOND_FACTOR, webauthn.flow_binding(flow), flow.user)
    db.session.commit()
    return Response(options, mimetype="application/json")


@bp.post("/login/second-factor/resend")
def resend_code():
    flow = login_flow.current_flow()
    if flow is None or flow.user.password_change_required:
        abort(400, description="This sign-in has expired. Please start again from the application.")
    methods = login_flow.login_methods(flow.user)
    if "sms" not in methods:
        abort(400, description="That sign-in method is not available for your account.")
    return _second_factor_page(flow, "sms", methods, start=True, force=True)


def _second_factor_page(flow, method_id, methods, *, start=False, force=False, error=None, status=200):
    info = None
    uid, offer_remember = flow.interaction_uid, devices.offered(flow.user)  # read before a commit expires them
    if start:
        try:
            info = service.start_method(flow, method_id, force=force)
        except IdpError as exc:
            error, status = exc.public, exc.status
        db.session.commit()
    return render_template("auth/second_factor.html", method=METHODS[method_id], methods=[METHODS[m] for m in methods],
                           info=info, error=error, uid=uid, offer_remember=offer_remember,
                           remember_days=current_app.config["IDP_SETTINGS"].session.remember_device_lifetime // 86400
                           ), status
