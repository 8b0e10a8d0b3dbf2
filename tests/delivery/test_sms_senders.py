"""SMS senders against a real local HTTP gateway: request shape, bearer token, one retry, timeouts, console outbox."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import sqlalchemy as sa

from idp.delivery import DeliveryError, send_sms
from idp.delivery.sms import ConsoleSmsSender, HttpSmsSender
from idp.extensions import db
from idp.models.delivery import OutboxMessage

NUMBER = "+447700900123"


class Gateway:
    """A loopback HTTP gateway that records each request and answers with the next scripted status."""

    def __init__(self):
        self.requests: list[dict] = []
        self.statuses: list[int] = []  # answered in order; 200 once they run out
        self.delay = 0.0
        self.stopping = threading.Event()
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                gateway.requests.append({"path": self.path, "headers": dict(self.headers), "json": json.loads(body)})
                if gateway.delay and gateway.stopping.wait(gateway.delay):
                    return  # the test is over; the client gave up long ago
                status = gateway.statuses.pop(0) if gateway.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/sms"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)

    def sender(self, token: str = "", timeout: float = 5) -> HttpSmsSender:
        return HttpSmsSender(self.url, token, timeout)


@pytest.fixture
def gateway():
    gw = Gateway()
    gw.thread.start()
    yield gw
    gw.stopping.set()
    gw.server.shutdown()
    gw.server.server_close()
    gw.thread.join(5)


@pytest.fixture
def closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_posts_json_with_bearer_token(gateway):
    gateway.sender(token="s3cret-token").send(NUMBER, "Your code is 123456")
    [request] = gateway.requests
    assert request["path"] == "/sms"
    assert request["json"] == {"to": NUMBER, "message": "Your code is 123456"}
    assert request["headers"]["Authorization"] == "Bearer s3cret-token"
    assert request["headers"]["Content-Type"] == "application/json"


def test_no_authorization_header_without_token(gateway):
    gateway.sender(token="").send(NUMBER, "hi")
    assert "Authorization" not in gateway.requests[0]["headers"]


@pytest.mark.parametrize("status", [201, 202, 204])
def test_any_2xx_is_sent(gateway, status):
    gateway.statuses = [status]
    gateway.sender().send(NUMBER, "hi")
    assert len(gateway.requests) == 1


def test_two_failures_raise_after_exactly_two_requests(gateway, caplog):
    gateway.statuses = [500, 500, 200]
    with caplog.at_level(logging.WARNING), pytest.raises(DeliveryError, match="HTTP 500"):
        gateway.sender(token="s3cret-token").send(NUMBER, "hi")
    assert len(gateway.requests) == 2
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2 and all("HTTP 500" in r.getMessage() for r in warnings)
    assert "s3cret-token" not in caplog.text and NUMBER not in caplog.text


def test_one_failure_is_retried_and_succeeds(gateway):
    gateway.statuses = [500, 200]
    gateway.sender().send(NUMBER, "hi")
    assert len(gateway.requests) == 2
    assert gateway.requests[0]["json"] == gateway.requests[1]["json"]


def test_a_slow_gateway_times_out_twice(gateway, caplog):
    gateway.delay = 30
    started = time.monotonic()
    with caplog.at_level(logging.WARNING), pytest.raises(DeliveryError, match="Timeout"):
        gateway.sender(timeout=1).send(NUMBER, "hi")
    elapsed = time.monotonic() - started
    assert 1.8 <= elapsed < 4, elapsed
    assert len(gateway.requests) == 2


def test_unreachable_gateway(closed_port, caplog):
    with caplog.at_level(logging.WARNING), pytest.raises(DeliveryError, match="ConnectionError"):
        HttpSmsSender(f"http://127.0.0.1:{closed_port}/sms", "s3cret-token", 2).send(NUMBER, "hi")
    assert "s3cret-token" not in caplog.text


def test_console_sender_writes_outbox_and_masks_the_number(app, caplog):
    with caplog.at_level(logging.INFO, logger="idp.delivery"):
        ConsoleSmsSender().send(NUMBER, "Your code is 123456")
    db.session.commit()
    [message] = db.session.scalars(sa.select(OutboxMessage)).all()
    assert (message.channel, message.recipient, message.body, message.subject) == ("sms", NUMBER, "Your code is 123456", "")
    assert "SMS to +44*******123: Your code is 123456" in caplog.text
    assert NUMBER not in caplog.text


def test_send_sms_uses_the_configured_http_sender(app, gateway):
    sms = {"sender": "http", "http_url": gateway.url, "http_token": "t0ken", "timeout": 2}
    app.config["IDP_SETTINGS"] = app.config["IDP_SETTINGS"].replace(sms=sms)
    send_sms(NUMBER, "via settings")
    assert gateway.requests[0]["headers"]["Authorization"] == "Bearer t0ken"
    assert db.session.scalars(sa.select(OutboxMessage)).all() == []


def test_send_sms_defaults_to_the_console_sender(app):
    send_sms(NUMBER, "via console")
    assert db.session.scalars(sa.select(OutboxMessage.body)).all() == ["via console"]
