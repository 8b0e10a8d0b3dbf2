"""SMS senders: the console sender (log and outbox, for demo and development) and a JSON-over-HTTP gateway.

The HTTP gateway receives ``POST <url>`` with ``{"to": "+447700900123", "message": "..."}`` and, when a token is
configured, ``Authorization: Bearer <token>``. Any 2xx answer means sent. A connection error, a timeout or any
other status is retried once; the second failure raises ``DeliveryError``. The token is never logged.
"""

from __future__ import annotations

import logging

import requests

from . import DeliveryError
from .outbox import record

log = logging.getLogger(__name__)

ATTEMPTS = 2


def mask_number(number: str) -> str:
    """A number safe for logs: the first three and last three characters kept ("+44*******123")."""
    if len(number) <= 6:
        return "*" * len(number)
    return number[:3] + "*" * (len(number) - 6) + number[-3:]


class ConsoleSmsSender:
    """Logs the message (number masked) and keeps it in the outbox instead of sending it."""

    def send(self, to: str, text: str) -> None:
        record("sms", to, text, shown_as=mask_number(to))


class HttpSmsSender:
    """Posts the message to an HTTP gateway; one retry, then DeliveryError."""

    def __init__(self, url: str, token: str, timeout: float):
        self.url = url
        self.token = token
        self.timeout = timeout

    def send(self, to: str, text: str) -> None:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        reason = ""
        for attempt in range(1, ATTEMPTS + 1):
            try:
                response = requests.post(self.url, json={"to": to, "message": text}, headers=headers,
                                         timeout=self.timeout)
            except requests.RequestException as exc:
                reason = f"{type(exc).__name__}"
            else:
                if 200 <= response.status_code < 300:
                    return
                reason = f"HTTP {response.status_code}"
            log.warning("SMS to %s: gateway attempt %d of %d failed: %s", mask_number(to), attempt, ATTEMPTS, reason)
        raise DeliveryError(f"SMS gateway failed {ATTEMPTS} times, last: {reason}")
