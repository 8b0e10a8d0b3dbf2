"""Hosted pages of the login: the password form, the signed-in home page, and sign-out of idp."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for

from ..errors import LoginFailed
from ..extensions import db
from ..oidc import interactions
from ..oidc.claims import ACR_PASSWORD
from .service import authenticate_password
from .sessions import current_login_session, end_login_session, start_login_session

bp = Blueprint("auth", __name__)


@bp.get("/")
def home():
    return render_template("auth/home.html", login_session=current_login_session())


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Password step. With ``uid`` it belongs to a parked authorization request and resumes it afterwards."""
    uid = request.values.get("uid")
    ix = interactions.load_interaction(uid) if uid else None
    if request.method == "GET":
        hint = (ix.params.get("login_hint") if ix else None) or ""
        return render_template("auth/login.html", uid=uid, username=hint[:150], error=None)
    username = request.form.get("username", "")
    try:
        user = authenticate_password(username, request.form.get("password", ""))
    except LoginFailed as exc:
        db.session.commit()  # keeps a re-hash or audit written before the failure
        return render_template("auth/login.html", uid=uid, username=username[:150], error=exc.public), 401
    start_login_session(user, amr=["pwd"], acr=ACR_PASSWORD)
    if ix is not None:
        interactions.fulfil(ix, "login")
    db.session.commit()
    target = url_for("oidc.resume", uid=uid) if ix is not None else url_for("auth.home")
    return redirect(target, code=303)


@bp.route("/logout", methods=["GET", "POST"])
def logout():
    if request.method == "GET":
        return render_template("auth/logout.html", login_session=current_login_session())
    end_login_session()
    db.session.commit()
    return redirect(url_for("auth.home"), code=303)
