"""Second-factor methods as strategies (Kratos): each says how it is enrolled, started and verified at login.

``METHODS`` maps the stable method id (used in URLs, config and the audit log) to its module-level strategy.
RFC 8176 ``amr`` values: ``otp`` for the authenticator app, ``sms`` for SMS codes. RFC 8176 registers no value for
recovery codes; they report ``"recovery"`` (an unregistered value, as RFC 8176 section 2 allows).
"""

from __future__ import annotations

from .base import Method, VerifyResult
from .recovery import RecoveryCodes
from .sms import Sms
from .totp import Totp

METHODS: dict[str, Method] = {m.id: m for m in (Totp(), Sms(), RecoveryCodes())}

#: methods a user can choose as the default, in the order they are offered (SMS last: NIST calls it restricted)
ENROLLABLE = ("totp", "sms")

__all__ = ["METHODS", "ENROLLABLE", "Method", "VerifyResult"]
