"""Log lines: JSON (one object per line) or text, each with the id of the request it belongs to.

The request id is the proxy's ``X-Request-ID`` when it looks like one (8 to 64 of ``A-Z a-z 0-9 . _ : -``), else a
new random one; it is echoed in the response and stored with every audit event. Log calls never pass a password,
code, secret or token (tests/ops/test_ops_logs.py signs in at DEBUG and checks the output); Authlib's own DEBUG
lines do (they print issued tokens), so its loggers stay at INFO.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import sys
from datetime import UTC, datetime

from flask import Flask, has_request_context, request

REQUEST_ID_HEADER = "X-Request-ID"
REQUEST_ID_RE = re.compile(r"[A-Za-z0-9._:-]{8,64}")
#: Loggers kept at INFO or above whatever ``logging.level`` says: Authlib's DEBUG lines print issued tokens.
QUIET_LOGGERS = ("authlib",)
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"
#: LogRecord attributes that are not ``extra`` fields.
STANDARD_ATTRIBUTES = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "request_id"}


def request_id() -> str:
    """This request's id (inside a request context)."""
    if "idp.request_id" not in request.environ:
        given = request.headers.get(REQUEST_ID_HEADER, "")
        request.environ["idp.request_id"] = given if REQUEST_ID_RE.fullmatch(given) else secrets.token_hex(16)
    return request.environ["idp.request_id"]


def init_request_ids(app: Flask) -> None:
    @app.after_request
    def _echo_request_id(response):
        response.headers[REQUEST_ID_HEADER] = request_id()
        return response


class RequestIdFilter(logging.Filter):
    """Puts ``request_id`` on every record ("-" outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id() if has_request_context() else "-"
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id, and any ``extra`` fields."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
        }
        line.update({k: v for k, v in vars(record).items() if k not in STANDARD_ATTRIBUTES and k not in line})
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def formatter_for(fmt: str) -> logging.Formatter:
    return JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT)


class StderrHandler(logging.StreamHandler):
    """Writes to the process's standard error, ``sys.__stderr__``: not to a ``sys.stderr`` that a test runner or
    click's CliRunner swapped in (that stream may be closed later, or be the command's own output)."""

    def __init__(self):
        super().__init__()
        self.addFilter(RequestIdFilter())

    @property
    def stream(self):
        return sys.__stderr__

    @stream.setter
    def stream(self, _value):
        pass


def configure_logging(settings) -> None:
    """One stderr handler on the root logger, reconfigured (not added again) when another app is created."""
    root = logging.getLogger()
    handler = next((h for h in root.handlers if isinstance(h, StderrHandler)), None)
    if handler is None:
        handler = StderrHandler()
        root.addHandler(handler)
    handler.setFormatter(formatter_for(settings.format))
    root.setLevel(settings.level.upper())
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.INFO, root.level))
