"""Password hashing with argon2id at OWASP's parameters (m=19 MiB, t=2, p=1), re-hashed when they change.

Unknown usernames are checked against a dummy hash so that a miss costs the same time as a wrong password.
"""

from __future__ import annotations

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from ..config import PasswordSettings

MIN_LENGTH = 8
MAX_LENGTH = 1024


class Passwords:
    def __init__(self, settings: PasswordSettings):
        self._hasher = PasswordHasher(
            time_cost=settings.time_cost,
            memory_cost=settings.memory_cost,
            parallelism=settings.parallelism,
            type=Type.ID,
        )
        self._dummy = self._hasher.hash("dummy password for unknown users")

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, stored_hash: str | None, password: str) -> bool:
        """True when the password matches; with no stored hash, spend the same time and say no."""
        try:
            return self._hasher.verify(stored_hash or self._dummy, password) and stored_hash is not None
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored_hash: str) -> bool:
        return self._hasher.check_needs_rehash(stored_hash)


def password_problem(password: str, *, username: str = "") -> str | None:
    """Why a new password is refused, or None. NIST SP 800-63B: length, no composition rules, no obvious words."""
    if len(password) < MIN_LENGTH:
        return f"Use at least {MIN_LENGTH} characters."
    if len(password) > MAX_LENGTH:
        return f"Use at most {MAX_LENGTH} characters."
    lowered = password.lower()
    if len(set(lowered)) <= 2:
        return "Avoid repeating the same characters."
    if username and username.lower() in lowered:
        return "Do not use your username in your password."
    if lowered.rstrip("0123456789!") in _COMMON:
        return "This password is too common; choose another."
    return None


_COMMON = frozenset(
    "password passw0rd qwerty qwertyuiop letmein welcome admin administrator iloveyou monkey dragon "
    "abc123 abcdefgh 12345678 123456789 1234567890 football baseball sunshine princess trustno1 "
    "changeme reseller resellers idp".split()
)
