"""argon2id hashing at OWASP parameters, re-hash on parameter change, and the new-password rules."""

from __future__ import annotations

import pytest

from idp.config import PasswordSettings
from idp.security.passwords import Passwords, password_problem


def test_default_parameters_are_owasp_argon2id():
    stored = Passwords(PasswordSettings()).hash("a long test passphrase")
    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")


def test_same_password_gets_different_salted_hashes():
    passwords = Passwords(PasswordSettings(memory_cost=1024, time_cost=1))
    assert passwords.hash("same password here") != passwords.hash("same password here")


def test_verify_accepts_only_the_exact_password():
    passwords = Passwords(PasswordSettings(memory_cost=1024, time_cost=1))
    long_password = "p" * 63 + "Ω"  # 64 code points, more than 64 bytes: nothing is truncated
    stored = passwords.hash(long_password)
    assert passwords.verify(stored, long_password)
    assert not passwords.verify(stored, long_password[:-1])
    assert not passwords.verify(None, long_password)
    assert not passwords.verify("not a hash", long_password)


def test_changed_parameters_ask_for_a_rehash():
    old = Passwords(PasswordSettings(memory_cost=1024, time_cost=1)).hash("a long test passphrase")
    assert Passwords(PasswordSettings(memory_cost=2048, time_cost=1)).needs_rehash(old)
    assert not Passwords(PasswordSettings(memory_cost=1024, time_cost=1)).needs_rehash(old)


@pytest.mark.parametrize("password", ["short", "aaaaaaaaaaaa", "password123", "dana-secret-1", "reseller!!"])
def test_weak_passwords_are_refused_with_a_reason(password):
    assert password_problem(password, username="dana")


def test_a_long_lowercase_passphrase_is_accepted():
    assert password_problem("correct horse battery staple", username="dana") is None
