"""Email senders: the console sender (log and outbox, for demo and development) and SMTP.

The SMTP sender connects to ``email.smtp_host``/``smtp_port`` with the configured timeout, upgrades with STARTTLS
(verifying the certificate against the system CAs) when ``smtp_starttls`` is set, logs in when a username is set and
sends one plain-text message from ``email.from_address``. Any socket or SMTP error becomes ``DeliveryError``; the
password is never logged.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from email.message import EmailMessage

from ..config import EmailSettings
from . import DeliveryError
from .outbox import record

log = logging.getLogger(__name__)


class ConsoleEmailSender:
    """Logs the message and keeps it in the outbox instead of sending it."""

    def send(self, to: str, subject: str, body: str) -> None:
        record("email", to, body, subject=subject)


class SmtpEmailSender:
    """Sends through an SMTP server (STARTTLS and login as configured)."""

    def __init__(self, settings: EmailSettings):
        self.settings = settings

    def message(self, to: str, subject: str, body: str) -> EmailMessage:
        msg = EmailMessage()
        msg["From"] = self.settings.from_address
        msg["To"] = to
        msg["Subject"] = subject
        msg.set_content(body)
        return msg

    def send(self, to: str, subject: str, body: str) -> None:
        s = self.settings
        msg = self.message(to, subject, body)
        try:
            with smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.timeout) as smtp:
                if s.smtp_starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if s.smtp_username:
                    smtp.login(s.smtp_username, s.smtp_password)
                smtp.send_message(msg)
        except (OSError, smtplib.SMTPException) as exc:
            reason = f"{type(exc).__name__}: {exc}"
            log.warning("email %r via %s:%s not sent: %s", subject, s.smtp_host, s.smtp_port, reason)
            raise DeliveryError(f"SMTP server {s.smtp_host}:{s.smtp_port} failed: {reason}") from None
