"""The provider's tables, one module per area. Import from here."""

from .account import Account, User
from .oauth import AuthorizationCode, Client, Consent, Token
from .session import Interaction, LoginSession

__all__ = ["Account", "User", "Client", "Consent", "AuthorizationCode", "Token", "LoginSession", "Interaction"]
