"""The admin console's pages: overview, reseller accounts, users of every account, and the audit trail.

Guard: ``admin_only`` on every page (signed in, role admin, 2FA on and used in this session; a signed-out visitor
goes to the login page, anyone else gets 403). Views read the form and choose the page; the rules live in
``service``, which the ``idp`` commands call too. Every POST has a CSRF token (CSRFProtect) and answers 303.
"""

from __future__ import annotations

import json
from functools import wraps

import click
from flask import (Blueprint, Response, abort, flash, redirect, render_template, request, stream_with_context,
                   url_for)

from ..auth.methods import METHODS
from ..auth.sessions import current_login_session
from ..cli.audit import _when
from ..errors import IdpError
from ..extensions import db
from ..models.account import ROLES
from . import service

bp = Blueprint("admin", __name__, url_prefix="/admin")

#: the per-user actions of the Users page, by the last segment of their URL: (service call, message when done)
ACTIONS = {
    "disable": (lambda admin, user, form: service.disable_user(admin, user), "{} is disabled and signed out."),
    "enable": (lambda admin, user, form: service.enable_user(admin, user), "{} can sign in again."),
    "delete": (lambda admin, user, form: service.delete_user(admin, user), "{} was deleted."),
    "password": (lambda admin, user, form: service.set_password(admin, user, form.get("password", "")),
                 "The password of {} was set; they choose their own at their next sign-in."),
    "reset-2fa": (lambda admin, user, form: service.reset_two_factor(admin, user, form.get("reason", "")),
                  "Two-factor authentication of {} was reset; they were signed out."),
}
USER_FIELDS = ("account", "username", "email", "display_name", "role")


def admin_only(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        login_session = current_login_session()
        if login_session is None:
            return redirect(url_for("auth.login", next="security"), code=303)
        return view(service.check_console_access(login_session), *args, **kwargs)
    return wrapper


@bp.get("")
@admin_only
def overview(admin):
    return render_template("admin/overview.html", admin=admin, counts=service.count_users())


# --- accounts -------------------------------------------------------------------------------------------------

def _accounts_page(admin, error: str | None = None, form: dict | None = None, status: int = 200):
    return render_template("admin/accounts.html", admin=admin, accounts=service.list_accounts(), error=error,
                           form=form or {}), status


@bp.get("/accounts")
@admin_only
def accounts(admin):
    return _accounts_page(admin)


@bp.post("/accounts")
@admin_only
def create_account(admin):
    form = {"name": request.form.get("name", "")[:200], "require_2fa": request.form.get("require_2fa") == "1"}
    try:
        account = service.create_account(admin, form["name"], form["require_2fa"])
    except IdpError as exc:
        db.session.rollback()
        return _accounts_page(admin, error=exc.public, form=form, status=exc.status)
    db.session.commit()
    flash(f"Account {account.name} was created.")
    return redirect(url_for("admin.accounts"), code=303)


# --- users ----------------------------------------------------------------------------------------------------

def _user_filters() -> tuple[service.UserFilters, dict]:
    """Filters of the user list from the query string, and the values to show in its form."""
    args = {k: request.args.get(k, "").strip()[:150] for k in ("account", "two_factor", "status", "inactive_since")}
    try:
        since = _when(args["inactive_since"] or None)
    except click.BadParameter:
        abort(400, description="Not signed in since: not a date, e.g. 2026-11-28.")
    two_factor = args["two_factor"] if args["two_factor"] in service.TWO_FACTOR_FILTERS else None
    disabled = {"disabled": True, "active": False}.get(args["status"])
    return service.UserFilters(account=args["account"] or None, two_factor=two_factor, disabled=disabled,
                               not_signed_in_since=since), args


def _users_page(admin, error: str | None = None, form: dict | None = None, status: int = 200):
    filters, args = _user_filters()
    try:
        rows = service.list_users(filters)
    except IdpError as exc:
        rows, error, status = [], exc.public, exc.status
    return render_template("admin/users.html", admin=admin, users=rows, accounts=service.list_accounts(),
                           methods=METHODS, roles=ROLES, filters=args, query={k: v for k, v in args.items() if v},
                           error=error, form=form or {}, two_factor_filters=service.TWO_FACTOR_FILTERS), status


@bp.get("/users")
@admin_only
def users(admin):
    return _users_page(admin)


@bp.post("/users")
@admin_only
def create_user(admin):
    form = {k: request.form.get(k, "").strip()[:254] for k in USER_FIELDS}
    try:
        user = service.create_user(admin, password=request.form.get("password", ""), **form)
    except IdpError as exc:
        db.session.rollback()
        return _users_page(admin, error=exc.public, form=form, status=exc.status)
    db.session.commit()
    flash(f"{user.username} was created in {form['account']}; they choose their own password at their first "
          f"sign-in.")
    return redirect(url_for("admin.users", **request.args), code=303)


@bp.post("/users/<int:user_id>/<action>")
@admin_only
def change_user(admin, user_id: int, action: str):
    if action not in ACTIONS:
        abort(404)
    user = service.get_user(user_id)
    call, done = ACTIONS[action]
    username = user.username
    try:
        call(admin, user, request.form)
    except IdpError as exc:
        db.session.rollback()
        return _users_page(admin, error=exc.public, status=exc.status)
    db.session.commit()
    flash(done.format(username))
    return redirect(url_for("admin.users", **request.args), code=303)


# --- the audit trail ------------------------------------------------------------------------------------------

def _audit_filters() -> service.AuditFilters:
    try:
        return service.parse_audit_filters(request.args)
    except service.AdminError as exc:
        abort(400, description=exc.public)


@bp.get("/audit")
@admin_only
def audit_trail(admin):
    filters = _audit_filters()
    page = request.args.get("page", "1")
    page = int(page) if page.isdigit() and 0 < len(page) < 7 else 1
    return render_template("admin/audit.html", admin=admin, filters=filters, query=filters.as_query(),
                           result=service.read_audit_page(filters, page), accounts=service.list_accounts(),
                           event_types=service.list_event_types(), form=request.args)


@bp.get("/audit.jsonl")
@admin_only
def audit_download(admin):
    """The events of the audit page's filters, all pages, as JSON lines (newest first)."""
    records = service.export_audit(_audit_filters())
    lines = (json.dumps(record, default=str) + "\n" for record in records)
    return Response(stream_with_context(lines), mimetype="application/x-ndjson",
                    headers={"Content-Disposition": 'attachment; filename="audit.jsonl"'})


# The OAuth client pages and the registration tokens (on this blueprint, with this guard).
from . import client_views  # noqa: E402,F401
