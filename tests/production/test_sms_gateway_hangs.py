"""The SMS gateway hangs (accepts the connection and never answers): the second-factor page still answers within
the configured timeout (one retry), says the text could not be sent, and offers the other ways in, the
authenticator app and a recovery code, which work. Nothing is recorded as sent; no 500.
"""

from __future__ import annotations

import threading
import time

import pytest

from helpers import SilentServer, csrf_token
from production_helpers import Journey, count_rows

pytestmark = pytest.mark.e2e

SMS_TIMEOUT = 1
ATTEMPTS = 2  # idp.delivery.sms retries once
#: the page's bound: every attempt's timeout, plus slack for a busy machine
BOUND = ATTEMPTS * SMS_TIMEOUT + 6
NOT_SENT = "We could not send the text message just now. Try again in a moment, or use another method."


@pytest.fixture
def gateway():
    hanging = SilentServer()  # accepts the requests and never answers
    yield hanging
    hanging.close()


def give_sms_and_recovery(people):
    """Each ``sms`` person also gets a phone (their default method) and a recovery set; returns their codes."""
    import phonenumbers
    import sqlalchemy as sa

    from idp import clock
    from idp.account.service import mask
    from idp.auth.methods import recovery
    from idp.extensions import db
    from idp.models import SmsPhone, User
    from idp.security.crypto import encrypt

    codes = {}
    for person in people["sms"]:
        user = db.session.scalar(sa.select(User).where(User.username == person.username))
        parsed = phonenumbers.parse("+44 7400 123456", "GB")
        db.session.add(SmsPhone(user_id=user.id, number_encrypted=encrypt("+447400123456"),
                                number_hint=mask(parsed), confirmed_at=clock.now()))
        user.default_method = "sms"
        codes[person.username] = recovery.new_set(user)
    return {"recovery": codes}


def to_hanging_sms_page(rig, person) -> tuple[Journey, object, float]:
    a, b = rig.urls
    journey = Journey(rig.client, person)
    journey.authorize(a)
    journey.password(b)
    started = time.monotonic()
    page = journey.http.get(a + journey.location, timeout=30)
    return journey, page, time.monotonic() - started


def test_a_hanging_sms_gateway_gets_a_prompt_page_with_other_ways_in(make_rig, gateway):
    rig = make_rig(people={"sms": (2, True)}, seed=give_sms_and_recovery,
                   sections={"sms": {"sender": "http", "http_url": f"http://127.0.0.1:{gateway.port}/send",
                                     "timeout": SMS_TIMEOUT}})
    a, b = rig.urls
    by_app, recovering = rig.people["sms"]

    journey, page, seconds = to_hanging_sms_page(rig, by_app)
    assert page.status_code == 503 and seconds <= BOUND, (page.status_code, seconds)
    assert NOT_SENT in page.text
    assert "method=totp" in page.text and "method=recovery" in page.text
    assert gateway.accepted == ATTEMPTS
    journey.location = "/login/second-factor?method=totp"
    journey.second_factor(b)
    journey.token(b, journey.code(a))
    assert journey.userinfo(a)["sub"]

    journey, page, seconds = to_hanging_sms_page(rig, recovering)
    assert page.status_code == 503 and seconds <= BOUND, (page.status_code, seconds)
    journey.location = "/login/second-factor?method=recovery"
    form_page = journey.http.get(b + journey.location, timeout=30)
    code = rig.extra["recovery"][recovering.username][0]
    used = journey.http.post(b + "/login/second-factor", allow_redirects=False, timeout=30,
                             data={"csrf_token": csrf_token(form_page.text), "method": "recovery", "code": code})
    assert used.status_code == 200 and "recovery code" in used.text.lower()  # the "a code was used" note

    assert count_rows(rig.engine, "SELECT count(*) FROM sms_code") == 0  # nothing recorded as sent
    assert count_rows(rig.engine, "SELECT count(*) FROM audit_event WHERE event = 'login_success'") == 2


# --- in one process, on either database: a hanging gateway holds no database lock -------------------------------

SLOW_GATEWAY_TIMEOUT = 2


@pytest.fixture
def settings(settings, gateway):
    return settings.replace(sms={"sender": "http", "http_url": f"http://127.0.0.1:{gateway.port}/send",
                                 "timeout": SLOW_GATEWAY_TIMEOUT})


def test_while_the_gateway_hangs_other_sign_ins_can_write(app, make_user, gateway):
    """The gateway is called outside any transaction. On SQLite a transaction holds the lock of the whole
    database: a send inside it would stall every sign-in of every process for up to 2 x ``sms.timeout``."""
    import phonenumbers

    from helpers import post
    from idp import clock
    from idp.account.service import mask
    from idp.extensions import db
    from idp.models import SmsPhone
    from idp.security import throttle
    from idp.security.crypto import encrypt

    user = make_user("sam")
    db.session.add(SmsPhone(user_id=user.id, number_encrypted=encrypt("+447400123456"),
                            number_hint=mask(phonenumbers.parse("+447400123456")), confirmed_at=clock.now()))
    user.default_method = "sms"
    db.session.commit()
    browser = app.test_client()
    assert post(browser, "/login", username="sam", password="a long test passphrase").status_code == 303
    answer = {}

    def open_sms_page():
        with app.app_context():
            answer["page"] = browser.get("/login/second-factor")

    page_thread = threading.Thread(target=open_sms_page, daemon=True)
    page_thread.start()
    deadline = time.monotonic() + 30
    while gateway.accepted == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert gateway.accepted >= 1, "the page never called the gateway"
    with app.app_context():
        assert throttle.reserve("password:someone-else")  # a write, as every password attempt makes; commits
        db.session.remove()
    assert page_thread.is_alive(), "the write had to wait for the hanging gateway"
    page_thread.join(30)
    assert answer["page"].status_code == 503 and NOT_SENT in answer["page"].get_data(as_text=True)
