"""The owner's "Users" pages (add, disable, enable, remove people; require 2FA) and the set-up link's page.

Guards show their level: ``owner_only`` for the account's people (signed in, role owner or admin; anyone else gets
403), none for ``/setup/<token>``, where the unguessable link is the credential. A new set-up link travels from the
add form to its one display encrypted in the flow cookie, never in a URL.
"""

from __future__ import annotations

import json
from functools import wraps

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for

from ..auth.sessions import current_login_session
from ..extensions import db
from ..security.crypto import decrypt, encrypt
from ..users import UserError
from . import service

bp = Blueprint("people", __name__)
NEW_LINK_KEY = "new_setup_link"

#: the per-person actions of the Users page, by the last segment of their URL
ACTIONS = {"disable": service.disable_person, "enable": service.enable_person, "remove": service.remove_person}
DONE = {"disable": "{} is disabled and signed out everywhere.", "enable": "{} can sign in again.",
        "remove": "{} was removed."}


def owner_only(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        login_session = current_login_session()
        if login_session is None:
            return redirect(url_for("auth.login", next="security"), code=303)
        if login_session.user.role not in service.MANAGER_ROLES:
            abort(403, description=service.NotAllowed.public)
        return view(login_session.user, *args, **kwargs)
    return wrapper


def _users_page(owner, error: str | None = None, form: dict | None = None, status: int = 200):
    account = service.check_may_manage(owner)
    return render_template("people/users.html", owner=owner, account=account, people=service.list_people(account),
                           error=error, form=form or {}), status


@bp.get("/account/users")
@owner_only
def users(owner):
    return _users_page(owner)


@bp.post("/account/users")
@owner_only
def add(owner):
    form = {k: request.form.get(k, "")[:254] for k in ("username", "email", "display_name")}
    try:
        added = service.add_person(owner, form["username"], form["email"], form["display_name"])
    except (UserError, service.PeopleError) as exc:
        db.session.rollback()
        return _users_page(owner, error=exc.public, form=form, status=exc.status)
    db.session.commit()
    session[NEW_LINK_KEY] = encrypt(json.dumps({"username": added.user.username, "email": added.user.email,
                                                "link": added.link, "emailed": added.emailed}))
    return redirect(url_for("people.added"), code=303)


@bp.get("/account/users/added")
@owner_only
def added(owner):
    """Shows a new person's set-up link once (then it is gone from the cookie), to print or pass on."""
    sealed = session.pop(NEW_LINK_KEY, None)
    if not sealed:
        return redirect(url_for("people.users"), code=303)
    return render_template("people/added.html", new=json.loads(decrypt(sealed)),
                           hours=int(service.SETUP_LIFETIME.total_seconds() // 3600))


@bp.post("/account/users/<int:person_id>/<action>")
@owner_only
def change(owner, person_id: int, action: str):
    if action not in ACTIONS:
        abort(404)
    try:
        username = ACTIONS[action](owner, person_id).username
    except service.PeopleError as exc:
        db.session.rollback()
        return _users_page(owner, error=exc.public, status=exc.status)
    db.session.commit()
    flash(DONE[action].format(username))
    return redirect(url_for("people.users"), code=303)


@bp.post("/account/users/require-2fa")
@owner_only
def require_2fa(owner):
    account = service.set_require_2fa(owner, request.form.get("required") == "1")
    db.session.commit()
    flash(f"Two-factor authentication is {'now required' if account.require_2fa else 'no longer required'} "
          f"for everyone in {account.name}.")
    return redirect(url_for("people.users"), code=303)


@bp.route("/setup/<token>", methods=["GET", "POST"])
def setup(token: str):
    """The new person chooses their password (twice) with the link their account owner sent."""
    user = service.find_setup_token(token).user
    if request.method == "GET":
        return render_template("people/setup.html", user=user, token=token, error=None)
    password = request.form.get("password", "")
    try:
        if password != request.form.get("password_again", ""):
            raise service.PeopleError("The two passwords are not the same.")
        service.complete_setup(token, password)
    except service.PeopleError as exc:
        db.session.rollback()
        return render_template("people/setup.html", user=user, token=token, error=exc.public), exc.status
    db.session.commit()
    return redirect(url_for("people.setup_done"), code=303)


@bp.get("/setup/done")
def setup_done():
    return render_template("people/setup_done.html")
