"""The dev outbox page (/dev/outbox): what the console senders sent, available only in demo mode."""

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, render_template

from ..extensions import db
from ..models.delivery import OutboxMessage

bp = Blueprint("dev", __name__, url_prefix="/dev")

#: how many messages the page shows
OUTBOX_LIMIT = 50


@bp.get("/outbox")
def outbox():
    """The newest messages first; 404 outside demo mode, so a production server does not show it at all."""
    if not current_app.config["IDP_SETTINGS"].demo:
        abort(404)
    messages = db.session.scalars(
        sa.select(OutboxMessage).order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc()).limit(OUTBOX_LIMIT)
    ).all()
    return render_template("dev/outbox.html", messages=messages, limit=OUTBOX_LIMIT)
