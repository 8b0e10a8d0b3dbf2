"""Password hashing with argon2id at OWASP's parameters (m=19 MiB, t=2, p=1), re-hashed when they change.

Unknown usernames are checked against a dummy hash so that a miss costs the same time as a wrong password.

A worker computes at most ``passwords.concurrency`` hashes at once; the others wait for a turn. argon2 runs outside
the GIL, so without a limit every server thread could hash at the same moment: no faster once the cores are busy,
but each hash holds ``memory_cost`` of memory, and glibc keeps what it gave a hash for the next one, so a burst of
logins left a worker with four threads 60 MB larger for good (``make bench``). The default shares the machine's
cores between the workers, so the cores stay busy and a worker grows by at most that many hashes.
"""

from __future__ import annotations

import os
import threading

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from ..config import PasswordSettings

MIN_LENGTH = 8
MAX_LENGTH = 1024


def hash_concurrency(settings: PasswordSettings, workers: int) -> int:
    """Hashes at once per worker: the setting, or (0) the cores shared between ``workers``, at least one."""
    if settings.concurrency:
        return settings.concurrency
    return max(1, -(-usable_cores() // max(1, workers)))


def usable_cores() -> int:
    """The cores this process may run on (a container's or taskset's limit, not the host's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class Passwords:
    def __init__(self, settings: PasswordSettings, workers: int = 1):
        self._turns = threading.BoundedSemaphore(hash_concurrency(settings, workers))
        self._hasher = PasswordHasher(
            time_cost=settings.time_cost,
            memory_cost=settings.memory_cost,
            parallelism=settings.parallelism,
            type=Type.ID,
        )
        self._dummy = self._hasher.hash("dummy password for unknown users")

    def hash(self, password: str) -> str:
        with self._turns:
            return self._hasher.hash(password)

    def verify(self, stored_hash: str | None, password: str) -> bool:
        """True when the password matches; with no stored hash, spend the same time and say no."""
        try:
            with self._turns:
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
