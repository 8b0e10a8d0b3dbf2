"""Which claims each scope releases (OIDC Core 5.4), for the ID token and the userinfo endpoint alike."""

from __future__ import annotations

from typing import TYPE_CHECKING

from authlib.oidc.core import UserInfo

from ..models import User

if TYPE_CHECKING:
    from .bearer import TokenUser

SCOPES_SUPPORTED = ["openid", "profile", "email", "offline_access"]
CLAIMS_SUPPORTED = ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "at_hash", "sid",
                    "name", "preferred_username", "email", "email_verified"]

#: Authentication context class references (RFC 8176 amr values say how; acr says the level reached).
ACR_PASSWORD = "urn:idp:acr:password"
ACR_MFA = "urn:idp:acr:mfa"
ACR_VALUES_SUPPORTED = [ACR_PASSWORD, ACR_MFA]


def generate_user_info(user: User | TokenUser, scope: str) -> UserInfo:
    """The ID token's user (a ``User``) or userinfo's (the claims read with the access token)."""
    scopes = set((scope or "").split())
    info = UserInfo(sub=user.subject)
    if "profile" in scopes:
        info["name"] = user.display_name
        info["preferred_username"] = user.username
    if "email" in scopes:
        info["email"] = user.email
        info["email_verified"] = False  # set by an administrator, not verified by a link
    return info
