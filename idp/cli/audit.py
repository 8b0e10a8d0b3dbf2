"""``idp audit export``: the audit trail as JSON lines, for a SIEM or an investigation."""

from __future__ import annotations

import json
from datetime import datetime

import click
import sqlalchemy as sa
from flask.cli import with_appcontext

from ..admin.service import event_record, parse_time
from ..extensions import db
from ..models import AuditEvent


def _when(value: str | None) -> datetime | None:
    try:
        return parse_time(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@click.group()
def audit():
    """The audit trail."""


@audit.command("export")
@click.option("--since", help="Only events at or after this time (ISO 8601, UTC if no offset).")
@click.option("--until", help="Only events before this time.")
@click.option("--event", "event_name", help="Only this event type, e.g. login_failed.")
@click.option("--user-id", type=int, help="Only events about this user.")
@with_appcontext
def export(since, until, event_name, user_id):
    """Print matching events as JSON lines, oldest first."""
    query = sa.select(AuditEvent).order_by(AuditEvent.id)
    if (start := _when(since)) is not None:
        query = query.where(AuditEvent.created_at >= start)
    if (end := _when(until)) is not None:
        query = query.where(AuditEvent.created_at < end)
    if event_name:
        query = query.where(AuditEvent.event == event_name)
    if user_id is not None:
        query = query.where(AuditEvent.subject_id == user_id)
    for event in db.session.scalars(query.execution_options(yield_per=500)):
        click.echo(json.dumps(event_record(event), default=str))
