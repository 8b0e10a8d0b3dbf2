"""Email senders against a real local SMTP server (aiosmtpd): headers and body received, failures, console outbox."""

from __future__ import annotations

import dataclasses
import logging
import socket
from email import message_from_bytes, policy

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from idp.config import EmailSettings
from idp.delivery import DeliveryError, send_email
from idp.delivery.email import ConsoleEmailSender, SmtpEmailSender
from idp.extensions import db
from idp.models.delivery import OutboxMessage


class Collector:
    """aiosmtpd handler keeping every envelope it accepts."""

    def __init__(self):
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_server():
    collector = Collector()
    controller = Controller(collector, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, collector
    controller.stop()


def smtp_settings(port: int, **changes) -> EmailSettings:
    values = {"sender": "smtp", "from_address": "idp@reseller.example", "smtp_host": "127.0.0.1", "smtp_port": port,
              "smtp_starttls": False, "timeout": 5} | changes
    return EmailSettings(**values)


def test_smtp_sender_delivers_from_to_subject_and_body(smtp_server):
    controller, collector = smtp_server
    SmtpEmailSender(smtp_settings(controller.port)).send("dana@acme.example", "Your password was changed",
                                                         "Hello Dana,\n\nyour password was changed.\n")
    [envelope] = collector.envelopes
    assert envelope.mail_from == "idp@reseller.example"
    assert envelope.rcpt_tos == ["dana@acme.example"]
    message = message_from_bytes(envelope.content, policy=policy.default)
    assert message["From"] == "idp@reseller.example"
    assert message["To"] == "dana@acme.example"
    assert message["Subject"] == "Your password was changed"
    assert message.get_content().replace("\r\n", "\n") == "Hello Dana,\n\nyour password was changed.\n"


def test_closed_port_raises_delivery_error(caplog):
    with caplog.at_level(logging.WARNING), pytest.raises(DeliveryError, match="127.0.0.1"):
        SmtpEmailSender(smtp_settings(free_port(), smtp_password="pa55word")).send("dana@acme.example", "s", "b")
    assert "not sent" in caplog.text and "pa55word" not in caplog.text


def test_starttls_refused_by_a_plain_server_raises_delivery_error(smtp_server):
    controller, collector = smtp_server
    with pytest.raises(DeliveryError):
        SmtpEmailSender(smtp_settings(controller.port, smtp_starttls=True)).send("dana@acme.example", "s", "b")
    assert collector.envelopes == []


def test_console_sender_writes_outbox(app, caplog):
    with caplog.at_level(logging.INFO, logger="idp.delivery"):
        ConsoleEmailSender().send("dana@acme.example", "New sign-in method", "A phone was added.")
    db.session.commit()
    [message] = db.session.scalars(sa.select(OutboxMessage)).all()
    assert (message.channel, message.recipient, message.subject, message.body) == (
        "email", "dana@acme.example", "New sign-in method", "A phone was added.")
    assert "EMAIL to dana@acme.example: New sign-in method" in caplog.text


def test_send_email_uses_the_configured_smtp_sender(app, smtp_server):
    controller, collector = smtp_server
    email = dataclasses.asdict(smtp_settings(controller.port))
    app.config["IDP_SETTINGS"] = app.config["IDP_SETTINGS"].replace(email=email)
    send_email("dana@acme.example", "Subject", "Body")
    assert collector.envelopes[0].rcpt_tos == ["dana@acme.example"]
    assert db.session.scalars(sa.select(OutboxMessage)).all() == []
