"""The dev outbox page (/dev/outbox): what the console senders sent, available only in demo mode."""

from flask import Blueprint

bp = Blueprint("dev", __name__, url_prefix="/dev")
