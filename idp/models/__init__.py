"""The provider's tables, one module per area. Import from here."""

from .account import Account, User
from .audit import AuditEvent
from .credentials import RecoveryCode, SmsCode, SmsPhone, TotpCredential, WebauthnChallenge, WebauthnCredential
from .delivery import OutboxMessage
from .oauth import AuthorizationCode, Client, Consent, RegistrationToken, Token, UsedClientAssertion
from .people import SetupToken
from .session import Interaction, LoginFlow, LoginSession, RememberedDevice
from .throttle import ThrottleCounter

__all__ = [
    "Account", "User", "Client", "Consent", "AuthorizationCode", "Token", "LoginSession", "Interaction", "LoginFlow",
    "RememberedDevice",
    "TotpCredential", "SmsPhone", "SmsCode", "RecoveryCode", "AuditEvent", "OutboxMessage", "ThrottleCounter",
    "SetupToken", "RegistrationToken", "WebauthnCredential", "WebauthnChallenge", "UsedClientAssertion",
]
