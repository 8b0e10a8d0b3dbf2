"""Writing the audit trail: one call, ``record``, at the end of anything security-relevant.

The request's client IP (behind trusted proxies only, ``ops.proxy``), user agent and request id (``ops.logs``) are
added here, so callers name only what happened. Each event also counts in the metrics (``ops.metrics``).
"""

from __future__ import annotations

import logging

from flask import has_request_context, request

from .extensions import db
from .models import AuditEvent, User
from .ops.logs import request_id
from .ops.metrics import count_audit_event

log = logging.getLogger("idp.audit")


def record(event: str, *, subject: User | None = None, actor: User | None = None, client_id: str | None = None,
           **details) -> AuditEvent:
    """Add an event to the session (committed with the request). Never pass secrets or codes in ``details``."""
    row = AuditEvent(
        event=event,
        subject_id=subject.id if subject else None,
        actor_id=(actor or subject).id if (actor or subject) else None,
        account_id=subject.account_id if subject else None,
        client_id=client_id,
        details=details,
    )
    if has_request_context():
        row.ip = request.remote_addr
        row.user_agent = (request.user_agent.string or "")[:300]
        row.request_id = request_id()
    db.session.add(row)
    log.info("%s subject=%s client=%s %s", event, row.subject_id, client_id or "-", details or "",
             extra={"audit_event": event, "subject_id": row.subject_id, "client_id": client_id, "details": details,
                    "client_ip": row.ip})
    count_audit_event(event, details)
    return row
