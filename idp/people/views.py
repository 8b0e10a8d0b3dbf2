"""The owner's "Users" pages (placeholder; see the package docstring)."""

from flask import Blueprint

bp = Blueprint("people", __name__)
