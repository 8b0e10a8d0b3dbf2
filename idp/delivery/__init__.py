"""Delivering SMS codes and email notices through the configured senders.

``send_sms`` and ``send_email`` are the only entry points the rest of idp uses. A sender that cannot hand the
message over raises ``DeliveryError``; callers then tell the user and offer another way in, and never record the
message as sent.
"""

from __future__ import annotations


class DeliveryError(Exception):
    """The message was not handed over to the gateway or mail server."""


def send_sms(to: str, text: str) -> None:
    """Send ``text`` to the E.164 number ``to`` with the configured SMS sender; DeliveryError on failure."""
    raise NotImplementedError


def send_email(to: str, subject: str, body: str) -> None:
    """Send a plain-text email with the configured email sender; DeliveryError on failure."""
    raise NotImplementedError
