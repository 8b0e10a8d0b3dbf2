"""Notices through SMTP go out after the commit, from a background thread: a hanging mail server delays no request
and holds no database lock (on SQLite a transaction locks the whole database), and a rolled-back change sends none.
"""

from __future__ import annotations

import socket
import threading
import time

import pytest

from idp.extensions import db
from idp.notices import notify

SMTP_TIMEOUT = 3


class SilentMailServer:
    """Accepts connections and never sends the SMTP greeting."""

    def __init__(self):
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.accepted = 0
        self._conns: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            self._conns.append(conn)
            self.accepted += 1

    def close(self) -> None:
        self._listener.close()
        for conn in self._conns:
            conn.close()


@pytest.fixture
def mail_server():
    server = SilentMailServer()
    yield server
    server.close()


@pytest.fixture
def settings(settings, mail_server):
    return settings.replace(email={"sender": "smtp", "smtp_host": "127.0.0.1", "smtp_port": mail_server.port,
                                   "smtp_starttls": False, "timeout": SMTP_TIMEOUT})


def wait_for(condition, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_a_notice_is_sent_after_the_commit_without_waiting_for_the_mail_server(app, user, mail_server):
    started = time.monotonic()
    notify(user, "Authenticator app turned on", "An authenticator app was turned on.")
    assert mail_server.accepted == 0  # nothing is sent inside the transaction
    db.session.commit()
    assert time.monotonic() - started < SMTP_TIMEOUT  # the request did not wait for the silent server
    assert wait_for(lambda: mail_server.accepted == 1)


def test_a_rolled_back_change_sends_no_notice(app, user, mail_server):
    notify(user, "Authenticator app turned on", "An authenticator app was turned on.")
    db.session.rollback()
    db.session.commit()
    time.sleep(0.5)
    assert mail_server.accepted == 0
