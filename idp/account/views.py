"""The "Account settings" pages: the two-factor overview, enrolment of each method, disabling, recovery codes.

Guards show their level: ``signed_in`` for everything, ``may_enrol`` for adding a factor (the second factor must
have been used in this session when the user already has one). A ``uid`` carried through means the sign-in of an
application waits for this enrolment (account requires 2FA) and continues afterwards.
"""

from __future__ import annotations

from functools import wraps

from flask import Blueprint, abort, redirect, render_template, request, session, url_for

from ..auth import devices
from ..auth.methods import ENROLLABLE, METHODS
from ..auth.sessions import current_login_session
from ..errors import IdpError
from ..extensions import db
from . import access, service

bp = Blueprint("account", __name__, url_prefix="/account")
NEW_CODES_KEY = "new_recovery_codes"


def signed_in(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        login_session = current_login_session()
        if login_session is None:
            return redirect(url_for("auth.login", next="security"), code=303)
        return view(login_session, *args, **kwargs)
    return wrapper


def _uid() -> str | None:
    uid = request.values.get("uid")
    return uid if uid and len(uid) <= 64 else None


def _back(endpoint: str = "account.security", **values):
    uid = _uid()
    return redirect(url_for(endpoint, uid=uid, **values) if uid else url_for(endpoint, **values), code=303)


def _show_codes(codes: list[str] | None, method_id: str):
    db.session.commit()
    if codes:
        session[NEW_CODES_KEY] = service.seal_codes(codes)
        return _back("account.recovery_codes")
    return _finish(method_id)


def _finish(method_id: str | None = None):
    uid = _uid()
    if uid:
        return redirect(url_for("oidc.resume", uid=uid), code=303)
    return redirect(url_for("account.security", enabled=method_id) if method_id else url_for("account.security"),
                    code=303)


def _security_page(login_session, error: str | None = None):
    user = login_session.user
    return render_template("account/security.html", user=user, info=service.overview(user),
                           methods=METHODS, enrollable=ENROLLABLE, uid=_uid(), error=error,
                           enabled=request.args.get("enabled"), current=login_session,
                           sessions=access.active_sessions(user), grants=access.clients_with_tokens(user),
                           devices=devices.devices_of(user))


@bp.get("/security")
@signed_in
def security(login_session):
    return _security_page(login_session)


@bp.route("/totp/enrol", methods=["GET", "POST"])
@signed_in
def totp_enrol(login_session):
    if request.method == "GET":
        return render_template("account/password_step.html", method=METHODS["totp"], uid=_uid(), error=None)
    try:
        service.check_may_enrol(login_session)
        service.confirm_password(login_session.user, request.form.get("password", ""))
        service.start_totp(login_session.user)
    except IdpError as exc:
        db.session.commit()
        return render_template("account/password_step.html", method=METHODS["totp"], uid=_uid(),
                               error=exc.public), exc.status
    db.session.commit()
    return _back("account.totp_confirm")


@bp.route("/totp/confirm", methods=["GET", "POST"])
@signed_in
def totp_confirm(login_session):
    user = login_session.user
    credential = service.pending_totp(user)
    if credential is None:
        return _back("account.totp_enrol")
    error = None
    if request.method == "POST":
        try:
            service.check_may_enrol(login_session)
            return _show_codes(service.confirm_totp(login_session, request.form.get("code", "")), "totp")
        except IdpError as exc:
            db.session.commit()
            error = exc.public
    return render_template("account/totp_confirm.html", display=service.totp_display(user, credential), uid=_uid(),
                           error=error), 400 if error else 200


@bp.route("/sms/enrol", methods=["GET", "POST"])
@signed_in
def sms_enrol(login_session):
    if request.method == "GET":
        return render_template("account/password_step.html", method=METHODS["sms"], uid=_uid(), error=None, phone="")
    try:
        service.check_may_enrol(login_session)
        service.confirm_password(login_session.user, request.form.get("password", ""))
        service.start_sms(login_session.user, request.form.get("phone", ""))
    except IdpError as exc:
        db.session.commit()
        return render_template("account/password_step.html", method=METHODS["sms"], uid=_uid(), error=exc.public,
                               phone=request.form.get("phone", "")[:40]), exc.status
    db.session.commit()
    return _back("account.sms_confirm")


@bp.route("/sms/confirm", methods=["GET", "POST"])
@signed_in
def sms_confirm(login_session):
    user = login_session.user
    phone = service.pending_phone(user)
    if phone is None:
        return _back("account.sms_enrol")
    error, info = None, f"We sent a code to {phone.number_hint}."
    if request.method == "POST":
        try:
            service.check_may_enrol(login_session)
            if request.form.get("action") == "resend":
                service.resend_enrol_code(user)
                info = f"We sent a new code to {phone.number_hint}."
            else:
                return _show_codes(service.confirm_sms(login_session, request.form.get("code", "")), "sms")
        except IdpError as exc:
            error = exc.public
        db.session.commit()
    return render_template("account/sms_confirm.html", info=info, error=error, uid=_uid()), 400 if error else 200


@bp.post("/<method_id>/disable")
@signed_in
def disable(login_session, method_id: str):
    if method_id not in ENROLLABLE:
        abort(404)
    try:
        service.confirm_password(login_session.user, request.form.get("password", ""))
        service.disable_method(login_session.user, method_id)
    except IdpError as exc:
        db.session.commit()
        return _security_page(login_session, error=exc.public), exc.status
    db.session.commit()
    return redirect(url_for("account.security"), code=303)


@bp.post("/default")
@signed_in
def set_default(login_session):
    try:
        service.set_default(login_session.user, request.form.get("method", ""))
    except IdpError:
        abort(400, description="That method is not enabled.")
    db.session.commit()
    return redirect(url_for("account.security"), code=303)


@bp.post("/recovery/regenerate")
@signed_in
def regenerate(login_session):
    try:
        service.confirm_password(login_session.user, request.form.get("password", ""))
        codes = service.regenerate_recovery_codes(login_session.user)
    except IdpError as exc:
        db.session.commit()
        return _security_page(login_session, error=exc.public), exc.status
    db.session.commit()
    session[NEW_CODES_KEY] = service.seal_codes(codes)
    return redirect(url_for("account.recovery_codes"), code=303)


@bp.get("/recovery/codes")
@signed_in
def recovery_codes(login_session):
    """Shows a new set once (then it is gone from the cookie), with print and .txt download."""
    sealed = session.pop(NEW_CODES_KEY, None)
    if not sealed:
        return redirect(url_for("account.security"), code=303)
    codes = service.unseal_codes(sealed)
    return render_template("account/recovery_codes.html", codes=codes, download=service.codes_download(codes),
                           uid=_uid())


@bp.post("/sessions/end")
@signed_in
def end_session(login_session):
    """Sign out one session (``session_id``) or every session (``all``), this one included."""
    session_id = request.form.get("session_id", type=int)
    everywhere = request.form.get("all") == "1"
    if session_id is None and not everywhere:
        abort(400, description="Choose a session to sign out.")
    access.end_sessions(login_session.user, None if everywhere else session_id)
    db.session.commit()
    return redirect(url_for("account.security") + "#sessions", code=303)


@bp.post("/devices/forget")
@signed_in
def forget_devices(login_session):
    devices.forget(login_session.user, request.form.get("device_id", type=int))
    db.session.commit()
    return redirect(url_for("account.security") + "#devices", code=303)


@bp.route("/password", methods=["GET", "POST"])
@signed_in
def password(login_session):
    error = None
    if request.method == "POST":
        try:
            access.change_password(login_session, request.form.get("current_password", ""),
                                   request.form.get("new_password", ""), request.form.get("repeat_password", ""))
            db.session.commit()
            return redirect(url_for("account.security", changed="password"), code=303)
        except IdpError as exc:
            db.session.commit()
            error = exc.public
    return render_template("account/password.html", error=error), 400 if error else 200


from . import key_views  # noqa: E402,F401  (security-key routes, registered on bp)
