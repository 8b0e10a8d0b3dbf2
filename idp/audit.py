"""Writing the audit trail: one call, ``record``, at the end of anything security-relevant.

The request's client IP, user agent and request id are added here, so callers name only what happened.
"""

from __future__ import annotations

import logging
import secrets

from flask import has_request_context, request

from .extensions import db
from .models import AuditEvent, User

log = logging.getLogger("idp.audit")


def request_id() -> str:
    """This request's id: the proxy's ``X-Request-Id`` when it is sane, else a new random one."""
    if "idp.request_id" not in request.environ:
        given = request.headers.get("X-Request-Id", "")
        request.environ["idp.request_id"] = given if 8 <= len(given) <= 64 and given.isascii() and given.isprintable() \
            else secrets.token_hex(8)
    return request.environ["idp.request_id"]


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
    log.info("%s subject=%s client=%s %s", event, row.subject_id, client_id or "-", details or "")
    return row
