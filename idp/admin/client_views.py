"""The admin console's OAuth client pages: list, register, show and edit, rotate the secret, disable and enable,
delete; and the initial access tokens of the registration API.

Every change goes through ``oidc.registration``, as the ``idp clients`` commands and the registration API do, with
the admin as the audited actor. A secret (or registration token) is shown once: the POST that made it puts it,
encrypted and valid ``REVEAL_SECONDS``, in the signed flow cookie and answers 303; the page it redirects to takes it
out again. Reloading that page, or coming back later, shows no secret. Nothing keeps it on the server.
"""

from __future__ import annotations

import json
from datetime import datetime

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, session, url_for

from ..errors import IdpError
from ..extensions import db
from ..models import Client
from ..oidc import registration
from ..security.crypto import InvalidToken, decrypt, encrypt
from . import client_form
from .views import admin_only, bp

REVEAL_KEY = "idp.admin.reveal"
REVEAL_SECONDS = 300
NOTE_LENGTH = 200


def _client(client_id: str) -> Client:
    try:
        return registration.find_client(client_id)
    except registration.ClientError:
        abort(404)


def _reveal(kind: str, **data) -> None:
    session[REVEAL_KEY] = encrypt(json.dumps({"kind": kind, **data}, default=str))


def _take_revealed(kind: str, **match) -> dict | None:
    """The secret put aside by the POST just before, once; None when gone, stale or another one's."""
    sealed = session.pop(REVEAL_KEY, None)
    if not sealed:
        return None
    try:
        data = json.loads(decrypt(sealed, ttl=REVEAL_SECONDS))
    except (InvalidToken, ValueError):
        return None
    if data.get("kind") != kind or any(data.get(k) != v for k, v in match.items()):
        return None
    return data


# --- clients --------------------------------------------------------------------------------------------------

@bp.get("/clients")
@admin_only
def clients(admin):
    rows = db.session.scalars(sa.select(Client).order_by(Client.name, Client.id)).all()
    return render_template("admin/clients.html", admin=admin, clients=rows)


def _form_page(admin, values: dict, client: Client | None = None, error: str | None = None, status: int = 200):
    return render_template("admin/client.html" if client else "admin/client_new.html", admin=admin, client=client,
                           form=values, choices=client_form.CHOICES, error=error), status


@bp.get("/clients/new")
@admin_only
def new_client(admin):
    return _form_page(admin, client_form.blank_form())


@bp.post("/clients")
@admin_only
def create_client(admin):
    values = client_form.read_form(request.form)
    try:
        client, secret = registration.create_client(actor=admin,
                                                    **client_form.service_arguments(values))
    except IdpError as exc:
        db.session.rollback()
        return _form_page(admin, values, error=exc.public, status=exc.status)
    db.session.commit()
    if secret is None:
        flash(f"{client.name} was registered.")
        return redirect(url_for("admin.client", client_id=client.client_id), code=303)
    _reveal("client_secret", client_id=client.client_id, secret=secret, created=True)
    return redirect(url_for("admin.client_secret", client_id=client.client_id), code=303)


@bp.get("/clients/<client_id>")
@admin_only
def client(admin, client_id: str):
    found = _client(client_id)
    return _form_page(admin, client_form.form_of(found), found)


@bp.post("/clients/<client_id>")
@admin_only
def update_client(admin, client_id: str):
    found = _client(client_id)
    values = client_form.read_form(request.form)
    try:
        registration.update_client(found, actor=admin, **client_form.service_arguments(values, found))
    except IdpError as exc:
        db.session.rollback()
        found = _client(client_id)
        values.update(type="public" if found.is_public else "confidential", enabled=found.enabled)
        return _form_page(admin, values, found, error=exc.public, status=exc.status)
    db.session.commit()
    flash(f"{found.name} was saved.")
    return redirect(url_for("admin.client", client_id=client_id), code=303)


@bp.post("/clients/<client_id>/rotate-secret")
@admin_only
def rotate_client_secret(admin, client_id: str):
    found = _client(client_id)
    try:
        secret = registration.rotate_secret(found, actor=admin)
    except IdpError as exc:
        db.session.rollback()
        return _form_page(admin, client_form.form_of(_client(client_id)), _client(client_id), error=exc.public,
                          status=exc.status)
    db.session.commit()
    until = found.previous_secret_expires_at
    _reveal("client_secret", client_id=client_id, secret=secret, created=False,
            previous_until=until.strftime("%Y-%m-%d %H:%M UTC") if until else None)
    return redirect(url_for("admin.client_secret", client_id=client_id), code=303)


@bp.get("/clients/<client_id>/secret")
@admin_only
def client_secret(admin, client_id: str):
    found = _client(client_id)
    revealed = _take_revealed("client_secret", client_id=client_id)
    return render_template("admin/client_secret.html", admin=admin, client=found, revealed=revealed)


@bp.post("/clients/<client_id>/<any(disable, enable):action>")
@admin_only
def switch_client(admin, client_id: str, action: str):
    found = _client(client_id)
    registration.update_client(found, actor=admin, enabled=action == "enable")
    db.session.commit()
    flash(f"{found.name} is {action}d." + (" Its requests are refused until it is enabled again."
                                           if action == "disable" else ""))
    return redirect(url_for("admin.client", client_id=client_id), code=303)


@bp.route("/clients/<client_id>/delete", methods=["GET", "POST"])
@admin_only
def delete_client(admin, client_id: str):
    found = _client(client_id)
    if request.method == "GET" or request.form.get("confirm") != client_id:
        status = 200 if request.method == "GET" else 400
        error = None if status == 200 else "Confirm the deletion with the button below."
        return render_template("admin/client_delete.html", admin=admin, client=found, error=error), status
    name = found.name
    registration.delete_client(found, actor=admin)
    db.session.commit()
    flash(f"{name} ({client_id}) was deleted with its tokens and consents.")
    return redirect(url_for("admin.clients"), code=303)


# --- initial access tokens of the registration API ------------------------------------------------------------

def _tokens_page(admin, error: str | None = None, form: dict | None = None, status: int = 200,
                 revealed: dict | None = None):
    rows = registration.list_registration_tokens()
    return render_template("admin/registration_tokens.html", admin=admin, tokens=rows, error=error, form=form or {},
                           revealed=revealed, status_of=registration.registration_token_status), status


@bp.get("/registration-tokens")
@admin_only
def registration_tokens(admin):
    revealed = _take_revealed("registration_token")
    if revealed:
        revealed["expires_at"] = datetime.fromisoformat(revealed["expires_at"])
    return _tokens_page(admin, revealed=revealed)


@bp.post("/registration-tokens")
@admin_only
def issue_registration_token(admin):
    form = {k: request.form.get(k, "").strip()[:NOTE_LENGTH + 1] for k in ("expires_in", "max_uses", "note")}
    try:
        row, token = registration.issue_registration_token(
            expires_in=_whole(form["expires_in"], "expires_in"), max_uses=_whole(form["max_uses"], "max_uses"),
            note=form["note"], actor=admin)
    except IdpError as exc:
        db.session.rollback()
        return _tokens_page(admin, error=exc.public, form=form, status=exc.status)
    db.session.commit()
    _reveal("registration_token", token=token, token_id=row.id, expires_at=row.expires_at.isoformat(),
            max_uses=row.max_uses)
    return redirect(url_for("admin.registration_tokens"), code=303)


@bp.post("/registration-tokens/<int:token_id>/revoke")
@admin_only
def revoke_registration_token(admin, token_id: int):
    try:
        registration.revoke_registration_token(token_id, actor=admin)
    except IdpError:
        abort(404)
    db.session.commit()
    flash(f"Registration token {token_id} was revoked; clients it registered stay.")
    return redirect(url_for("admin.registration_tokens"), code=303)


def _whole(text: str, field: str) -> int:
    if not text.isdigit() or len(text) > 9:
        raise registration.ClientError(f"{field}: a whole number.")
    return int(text)
