"""argon2id hashing at OWASP parameters, re-hash on parameter change, and the new-password rules."""

from __future__ import annotations

import threading
import time

import pytest

from idp.config import PasswordSettings
from idp.security import passwords as passwords_module
from idp.security.passwords import Passwords, hash_concurrency, password_problem


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


class SlowHasher:
    """Stands in for argon2: records how many checks run at the same moment."""

    def __init__(self):
        self.running = self.most = 0
        self.lock = threading.Lock()

    def verify(self, stored, password):
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
        time.sleep(0.05)
        with self.lock:
            self.running -= 1
        return True


@pytest.mark.parametrize("limit", [1, 2])
def test_a_worker_checks_at_most_concurrency_passwords_at_once(limit):
    passwords = Passwords(PasswordSettings(memory_cost=1024, time_cost=1, concurrency=limit))
    passwords._hasher = hasher = SlowHasher()
    threads = [threading.Thread(target=passwords.verify, args=("stored", "password")) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert hasher.most == limit


def test_concurrency_zero_shares_the_cores_between_the_workers(monkeypatch):
    monkeypatch.setattr(passwords_module, "usable_cores", lambda: 4)
    auto = PasswordSettings()
    assert [hash_concurrency(auto, workers) for workers in (1, 2, 3, 4, 8)] == [4, 2, 2, 1, 1]
    assert hash_concurrency(PasswordSettings(concurrency=3), 4) == 3


@pytest.mark.parametrize("password", ["short", "aaaaaaaaaaaa", "password123", "dana-secret-1", "reseller!!"])
def test_weak_passwords_are_refused_with_a_reason(password):
    assert password_problem(password, username="dana")


def test_a_long_lowercase_passphrase_is_accepted():
    assert password_problem("correct horse battery staple", username="dana") is None
