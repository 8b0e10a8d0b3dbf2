"""The interaction policy: which prompt an authorization request needs before a code can be issued.

Prompts are checked in order; each check is a small function named for the reason it fires (node-oidc-provider's
interaction policy). ``evaluate`` returns the first prompt and reason that fire, or None.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import sqlalchemy as sa

from .. import clock
from ..auth.flow import has_second_factor
from ..extensions import db
from ..models import Client, Consent, Interaction, LoginSession
from .claims import ACR_MFA
from .hints import verify_id_token_hint


@dataclass
class Context:
    params: dict
    client: Client
    session: LoginSession | None
    interaction: Interaction | None = None
    prompts: set[str] = field(init=False)

    def __post_init__(self):
        self.prompts = set((self.params.get("prompt") or "").split())

    def fulfilled(self, prompt: str) -> bool:
        return self.interaction is not None and prompt in self.interaction.fulfilled


def no_session(ctx: Context) -> bool:
    return ctx.session is None


def prompt_login(ctx: Context) -> bool:
    return "login" in ctx.prompts and not ctx.fulfilled("login")


def id_token_hint_mismatch(ctx: Context) -> bool:
    """The client names (through an ID token it got) a user other than the one signed in here, or sends a hint
    that is not one of our ID tokens: ask who is there (OIDC Core 3.1.2.1, 3.1.2.6 login_required)."""
    value = ctx.params.get("id_token_hint")
    if not value or ctx.fulfilled("login"):
        return False
    claims = verify_id_token_hint(value)
    return claims is None or claims["sub"] != ctx.session.user.subject


def max_age(ctx: Context) -> bool:
    # OIDC Core 3.1.2.1: re-authenticate when the last authentication is older than max_age seconds
    value = ctx.params.get("max_age")
    if value is None or ctx.fulfilled("login"):
        return False
    age = (clock.now() - ctx.session.auth_time).total_seconds()
    return age > int(value)


def _has_mfa(ctx: Context) -> bool:
    return "mfa" in ctx.session.amr


def _wants_mfa(ctx: Context) -> bool:
    return ACR_MFA in (ctx.params.get("acr_values") or "").split()


def second_factor_not_used(ctx: Context) -> bool:
    """A user with a second factor never gets a code on the password alone, for any client (unless this browser
    is remembered: that login says so honestly, without ``mfa``)."""
    return not _has_mfa(ctx) and has_second_factor(ctx.session.user) and ctx.session.remembered_device_id is None


def acr_values_mfa_not_met(ctx: Context) -> bool:
    """The client asked for MFA with acr_values: step up with the factor the user has (OIDC Core 3.1.2.1)."""
    return _wants_mfa(ctx) and not _has_mfa(ctx) and has_second_factor(ctx.session.user)


def client_requires_2fa(ctx: Context) -> bool:
    """The client is marked "requires 2FA": its codes always come from a login that used the second factor."""
    return ctx.client.requires_2fa and not _has_mfa(ctx) and has_second_factor(ctx.session.user)


def client_requires_2fa_without_factor(ctx: Context) -> bool:
    return ctx.client.requires_2fa and not has_second_factor(ctx.session.user)


def account_requires_2fa(ctx: Context) -> bool:
    """The account owner requires a second factor and this user has none yet: enrol before any code."""
    return ctx.session.user.account.require_2fa and not has_second_factor(ctx.session.user)


def acr_values_mfa_without_factor(ctx: Context) -> bool:
    return _wants_mfa(ctx) and not has_second_factor(ctx.session.user)


def prompt_consent(ctx: Context) -> bool:
    return "consent" in ctx.prompts and not ctx.fulfilled("consent")


def untrusted_client_without_consent(ctx: Context) -> bool:
    if ctx.client.trusted or ctx.fulfilled("consent"):
        return False
    granted = db.session.scalar(
        sa.select(Consent.scope).where(Consent.user_id == ctx.session.user_id, Consent.client_id == ctx.client.client_id)
    )
    requested = set((ctx.params.get("scope") or "").split())
    return granted is None or not requested <= set(granted.split())


PROMPTS: list[tuple[str, list[Callable[[Context], bool]]]] = [
    ("login", [no_session, prompt_login, id_token_hint_mismatch, max_age]),
    ("second_factor", [second_factor_not_used, acr_values_mfa_not_met, client_requires_2fa]),
    ("enrol", [account_requires_2fa, client_requires_2fa_without_factor, acr_values_mfa_without_factor]),
    ("consent", [prompt_consent, untrusted_client_without_consent]),
]


def evaluate(ctx: Context) -> tuple[str, str] | None:
    for prompt, checks in PROMPTS:
        for check in checks:
            if check(ctx):
                return prompt, check.__name__
    return None


def grant_consent(user_id: int, client_id: str, scope: str) -> None:
    consent = db.session.scalar(sa.select(Consent).where(Consent.user_id == user_id, Consent.client_id == client_id))
    scopes = set(scope.split())
    if consent is None:
        db.session.add(Consent(user_id=user_id, client_id=client_id, scope=" ".join(sorted(scopes))))
    else:
        consent.scope = " ".join(sorted(scopes | set(consent.scope.split())))
