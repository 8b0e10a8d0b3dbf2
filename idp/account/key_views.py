"""Settings pages for security keys and passkeys: add one (password and name, then the browser's prompt), rename,
remove. Registered on the account blueprint (``views.bp``); the rules live in ``keys``."""

from __future__ import annotations

from flask import Response, jsonify, render_template, request

from ..auth.methods import METHODS
from ..errors import IdpError
from ..extensions import db
from . import keys
from .views import _back, _security_page, _show_codes, _uid, bp, signed_in


@bp.get("/webauthn/enrol")
@signed_in
def webauthn_enrol(login_session):
    return _enrol_page()


def _enrol_page(error: str | None = None, status: int = 200):
    return render_template("account/webauthn_enrol.html", method=METHODS["webauthn"], uid=_uid(), error=error,
                           name=request.form.get("name", "")[:64]), status


@bp.post("/webauthn/options")
@signed_in
def webauthn_options(login_session):
    """Step 1 (JSON, called by webauthn.js): the password and the name; answers the options for the prompt."""
    try:
        options = keys.start_enrolment(login_session, request.form.get("password", ""), request.form.get("name", ""))
    except IdpError as exc:
        db.session.commit()
        return jsonify(error=exc.public), exc.status
    db.session.commit()
    return Response(options, mimetype="application/json")


@bp.post("/webauthn/enrol")
@signed_in
def webauthn_enrol_finish(login_session):
    """Step 2: the browser's answer to ``navigator.credentials.create``."""
    response = request.form.get("credential", "")
    if not response:
        return _enrol_page("Your browser sent no answer from a security key. Security keys need JavaScript and a "
                           "browser that supports them.", 400)
    try:
        return _show_codes(keys.finish_enrolment(login_session, response), "webauthn")
    except IdpError as exc:
        db.session.commit()
        return _enrol_page(exc.public, exc.status)


@bp.post("/webauthn/<int:key_id>/rename")
@signed_in
def webauthn_rename(login_session, key_id: int):
    try:
        keys.rename_key(login_session.user, key_id, request.form.get("name", ""))
    except IdpError as exc:
        return _security_page(login_session, error=exc.public), exc.status
    db.session.commit()
    return _back()


@bp.post("/webauthn/<int:key_id>/remove")
@signed_in
def webauthn_remove(login_session, key_id: int):
    try:
        keys.remove_key(login_session.user, key_id, request.form.get("password", ""))
    except IdpError as exc:
        db.session.commit()
        return _security_page(login_session, error=exc.public), exc.status
    db.session.commit()
    return _back()
