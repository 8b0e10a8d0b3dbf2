"""Delivering SMS codes and email notices through the configured senders.

``send_sms`` and ``send_email`` are the only entry points the rest of idp uses. A sender that cannot hand the
message over raises ``DeliveryError``; callers then tell the user and offer another way in, and never record the
message as sent. Which sender is used follows ``sms.sender`` and ``email.sender``; the console senders write to
the outbox (``/dev/outbox`` in demo mode), the others talk to a real HTTP gateway or SMTP server.
"""

from __future__ import annotations

from contextlib import contextmanager

from flask import current_app

from ..ops.metrics import count_delivery


class DeliveryError(Exception):
    """The message was not handed over to the gateway or mail server."""


# The sender modules import DeliveryError from here, so they are imported after it is defined.
from .email import ConsoleEmailSender, SmtpEmailSender  # noqa: E402
from .sms import ConsoleSmsSender, HttpSmsSender  # noqa: E402


def sms_sender(settings) -> ConsoleSmsSender | HttpSmsSender:
    """The SMS sender named by ``settings.sms.sender``."""
    sms = settings.sms
    if sms.sender == "http":
        return HttpSmsSender(sms.http_url, sms.http_token, sms.timeout)
    return ConsoleSmsSender()


def email_sender(settings) -> ConsoleEmailSender | SmtpEmailSender:
    """The email sender named by ``settings.email.sender``."""
    if settings.email.sender == "smtp":
        return SmtpEmailSender(settings.email)
    return ConsoleEmailSender()


def send_sms(to: str, text: str) -> None:
    """Send ``text`` to the E.164 number ``to`` with the configured SMS sender; DeliveryError on failure."""
    with _counted("sms"):
        sms_sender(current_app.config["IDP_SETTINGS"]).send(to, text)


def send_email(to: str, subject: str, body: str) -> None:
    """Send a plain-text email with the configured email sender; DeliveryError on failure."""
    with _counted("email"):
        email_sender(current_app.config["IDP_SETTINGS"]).send(to, subject, body)


@contextmanager
def _counted(channel: str):
    """``idp_deliveries_total{channel, outcome}``: sent, or failed (the error goes on to the caller)."""
    try:
        yield
    except DeliveryError:
        count_delivery(channel, sent=False)
        raise
    count_delivery(channel, sent=True)
