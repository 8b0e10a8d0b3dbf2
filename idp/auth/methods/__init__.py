"""Second-factor methods as strategies (Kratos): each says how it is enrolled, started and verified at login.

``METHODS`` maps the stable method id (used in URLs, config and the audit log) to its module-level strategy.
RFC 8176 ``amr`` values: ``otp`` for the authenticator app, ``sms`` for SMS codes, ``hwk``/``swk`` with ``user``
(and ``pin`` after user verification) for security keys and passkeys (see webauthn.py). RFC 8176 registers no value for
recovery codes; they report ``"recovery"`` (an unregistered value, as RFC 8176 section 2 allows).
"""

from __future__ import annotations

from .base import Method, VerifyResult
from .recovery import RecoveryCodes
from .sms import Sms
from .totp import Totp
from .webauthn import Webauthn

METHODS: dict[str, Method] = {m.id: m for m in (Webauthn(), Totp(), Sms(), RecoveryCodes())}

#: methods a user can choose as the default, in the order they are offered (phishing-resistant keys first; SMS last:
#: NIST calls it restricted)
ENROLLABLE = ("webauthn", "totp", "sms")

__all__ = ["METHODS", "ENROLLABLE", "Method", "VerifyResult"]
