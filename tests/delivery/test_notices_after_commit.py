"""Notices through SMTP go out after the commit, from a background thread: a hanging mail server delays no request
and holds no database lock (on SQLite a transaction locks the whole database), and a rolled-back change sends none.
"""

from __future__ import annotations

import time

import pytest

from helpers import SilentServer
from idp.extensions import db
from idp.notices import notify

SMTP_TIMEOUT = 3


@pytest.fixture
def mail_server():
    server = SilentServer()  # accepts and never sends the SMTP greeting
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
