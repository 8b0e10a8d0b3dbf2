"""SMS codes: enrolment with phone validation, the login step, lifetime, tries, resends, binding, storage,
gateway failures and amr."""

from __future__ import annotations

import re
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet

from idp.extensions import db
from mfa_helpers import (MOBILE, MOBILE_E164, LANDLINE, TEST_PASSWORD, WRONG_CODE_MESSAGE, SmsCode, SmsPhone, clock,
                         authorize_to_password, count, error_of, finish_authorization, give_recovery, give_sms,
                         give_totp, id_token_claims, last_sms_code, password_login, post, query, second_factor_page,
                         sms_messages, submit_code, to_second_factor, totp_code)

__all__ = ["clock"]

NATIONAL = "7400123456"


@pytest.fixture
def signed_in(client, user, clock):
    response = password_login(client)
    assert response.status_code == 303 and "second-factor" not in response.location
    return client


@pytest.fixture
def sms_user(user, clock):
    give_sms(user)
    return user


def _sms_login(client) -> str:
    """Password, then the second-factor page (which texts the code); returns the page."""
    to_second_factor(client)
    page = second_factor_page(client)
    assert page.status_code == 200, (page.status_code, error_of(page))
    return page.get_data(as_text=True)


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


# --- enrolment -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("number", ["12345", "not a number", "+44 7400 12345"])
def test_enrolment_with_an_invalid_number_shows_a_clear_error_and_stores_nothing(signed_in, number):
    response = post(signed_in, "/account/sms/enrol", password=TEST_PASSWORD, phone=number)
    assert response.status_code == 400
    assert "mobile number" in error_of(response)
    assert count(SmsPhone) == 0 and sms_messages() == []


def test_enrolment_with_a_landline_number_shows_a_clear_error(signed_in):
    response = post(signed_in, "/account/sms/enrol", password=TEST_PASSWORD, phone=LANDLINE)
    assert response.status_code == 400
    assert "not a valid mobile number" in error_of(response)
    assert count(SmsPhone) == 0 and sms_messages() == []


def test_enrolment_with_a_wrong_password_stores_no_number(signed_in):
    response = post(signed_in, "/account/sms/enrol", password="not the password", phone=MOBILE)
    assert response.status_code in (400, 401) and error_of(response) == "Incorrect password."
    assert count(SmsPhone) == 0 and sms_messages() == []


def test_a_valid_mobile_is_stored_e164_encrypted_and_shown_masked(app, signed_in):
    response = post(signed_in, "/account/sms/enrol", password=TEST_PASSWORD, phone="07400 123456")
    assert response.status_code == 303, error_of(response)
    stored = db.session.execute(sa.text("SELECT number_encrypted, number_hint FROM sms_phone")).one()
    assert NATIONAL not in stored.number_encrypted
    fernet = Fernet(app.config["IDP_SETTINGS"].mfa.encryption_key)
    assert fernet.decrypt(stored.number_encrypted.encode()).decode() == MOBILE_E164
    assert sms_messages()[-1].recipient == MOBILE_E164
    page = signed_in.get(response.location).get_data(as_text=True)
    assert stored.number_hint in page and stored.number_hint.endswith("456")
    assert NATIONAL not in page and "7400 123456" not in page


def test_the_example_numbers_the_enrolment_page_and_its_errors_suggest_are_accepted(signed_in, clock):
    page = signed_in.get("/account/sms/enrol").get_data(as_text=True)
    examples = {re.search(r'placeholder="([^"]+)"', page).group(1)}
    for wrong in ("12345", LANDLINE):
        refused = post(signed_in, "/account/sms/enrol", password=TEST_PASSWORD, phone=wrong)
        examples.update(re.findall(r"e\.g\. (\+[\d ]+\d)", error_of(refused)))
    for example in examples:
        clock.advance(31)
        response = post(signed_in, "/account/sms/enrol", password=TEST_PASSWORD, phone=example)
        assert response.status_code == 303, (example, error_of(response))


def test_the_code_from_the_text_message_turns_sms_on(signed_in):
    response = post(signed_in, "/account/sms/enrol", password=TEST_PASSWORD, phone=MOBILE)
    assert response.status_code == 303
    wrong = post(signed_in, "/account/sms/confirm", action="confirm", code=_wrong(last_sms_code()))
    assert wrong.status_code == 400 and error_of(wrong)
    assert count(SmsPhone, SmsPhone.confirmed_at.is_not(None)) == 0
    response = post(signed_in, "/account/sms/confirm", action="confirm", code=last_sms_code())
    assert response.status_code == 303 and response.location.endswith("/account/recovery/codes")
    assert count(SmsPhone, SmsPhone.confirmed_at.is_not(None)) == 1
    security = signed_in.get("/account/security").get_data(as_text=True)
    assert re.search(r'id="method-sms">.*?Enabled', security, re.S)


# --- login ---------------------------------------------------------------------------------------------------

def test_with_sms_as_default_a_code_is_texted_at_once_and_the_page_shows_the_masked_number(client, sms_user):
    to_second_factor(client)
    page = second_factor_page(client).get_data(as_text=True)
    messages = sms_messages()
    assert len(messages) == 1 and messages[0].recipient == MOBILE_E164
    assert re.search(r"\b\d{6}\b", messages[0].body)
    assert "•" in page and "456" in page
    assert NATIONAL not in page


def test_showing_the_page_again_does_not_text_another_code(client, sms_user, clock):
    _sms_login(client)
    clock.advance(40)
    second_factor_page(client)
    assert len(sms_messages()) == 1


def test_the_sms_code_is_accepted_within_5_minutes(client, sms_user, clock):
    _sms_login(client)
    clock.advance(290)
    assert submit_code(client, last_sms_code(), "sms").status_code == 303


def test_the_sms_code_expires_after_5_minutes(client, sms_user, clock):
    _sms_login(client)
    clock.advance(301)
    response = submit_code(client, last_sms_code(), "sms")
    assert response.status_code == 401 and error_of(response) == WRONG_CODE_MESSAGE


def test_four_wrong_tries_leave_the_code_usable(client, sms_user, clock):
    _sms_login(client)
    code = last_sms_code()
    for _ in range(4):
        assert submit_code(client, _wrong(code), "sms").status_code == 401
    assert submit_code(client, code, "sms").status_code == 303


def test_five_wrong_tries_void_the_code_so_the_right_code_then_fails(client, sms_user, clock):
    _sms_login(client)
    code = last_sms_code()
    for _ in range(5):
        assert submit_code(client, _wrong(code), "sms").status_code == 401
    clock.advance(31)  # past the user's second-factor lock; the code itself is still within its 5 minutes
    response = submit_code(client, code, "sms")
    assert response.status_code == 401 and error_of(response) == WRONG_CODE_MESSAGE


def test_a_resend_within_30_seconds_is_refused_with_a_message_and_allowed_after(client, sms_user, clock):
    _sms_login(client)
    clock.advance(10)
    early = post(client, "/login/second-factor/resend")
    assert early.status_code == 429
    assert "wait" in error_of(early).lower()
    assert len(sms_messages()) == 1
    clock.advance(21)
    later = post(client, "/login/second-factor/resend")
    assert later.status_code == 200 and error_of(later) is None
    assert len(sms_messages()) == 2
    assert submit_code(client, last_sms_code(), "sms").status_code == 303


def test_at_most_5_codes_are_texted_per_hour(client, sms_user, clock):
    _sms_login(client)
    for _ in range(4):
        clock.advance(31)
        assert post(client, "/login/second-factor/resend").status_code == 200
    assert len(sms_messages()) == 5
    clock.advance(31)
    sixth = post(client, "/login/second-factor/resend")
    assert sixth.status_code == 429 and error_of(sixth)
    assert len(sms_messages()) == 5


def test_a_code_texted_for_one_login_does_not_work_in_another_browser(app, sms_user, clock):
    a, b = app.test_client(), app.test_client()
    _sms_login(a)
    code_a = last_sms_code()
    clock.advance(31)
    _sms_login(b)
    code_b = last_sms_code()
    assert code_a != code_b or len(sms_messages()) == 2
    response = submit_code(b, code_a, "sms")
    assert response.status_code == 401 and error_of(response) == WRONG_CODE_MESSAGE
    assert submit_code(a, code_a, "sms").status_code == 303
    assert submit_code(b, code_b, "sms").status_code == 303


def test_the_sms_code_is_stored_hashed(client, sms_user):
    _sms_login(client)
    code = last_sms_code()
    row = db.session.execute(sa.text("SELECT * FROM sms_code")).mappings().one()
    assert not any(code in str(value) for name, value in row.items() if name != "id"), dict(row)
    assert len(row["code_hash"]) >= 32


def test_the_id_token_says_amr_pwd_sms_mfa(client, authz, sms_user):
    response = authorize_to_password(client, authz)
    assert client.get(response.location).status_code == 200
    final = finish_authorization(client, submit_code(client, last_sms_code(), "sms"))
    assert final.status_code == 302
    claims = id_token_claims(client, authz, query(final.location)["code"])
    assert claims["amr"] == ["pwd", "sms", "mfa"]


# --- gateway failures ----------------------------------------------------------------------------------------

class _Failing(BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_POST(self):  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        type(self).hits.append(self.path)
        self.send_response(500)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def gateway_500():
    handler = type("Handler", (_Failing,), {"hits": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/send", handler.hits
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.fixture
def closed_port_url():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/send"


def _use_gateway(app, url: str) -> None:
    app.config["IDP_SETTINGS"] = app.config["IDP_SETTINGS"].replace(sms={"sender": "http", "http_url": url})


@pytest.mark.parametrize("other", ["totp", "recovery"])
def test_a_gateway_answering_500_gives_a_clear_message_stores_no_code_and_another_method_gets_in(
        app, client, sms_user, gateway_500, other):
    key = give_totp(sms_user, default=False)
    codes = give_recovery(sms_user)
    url, hits = gateway_500
    _use_gateway(app, url)
    to_second_factor(client)
    page = second_factor_page(client)
    assert page.status_code == 503
    assert "could not send" in error_of(page) and "another method" in error_of(page)
    assert len(hits) >= 1
    assert count(SmsCode) == 0 and sms_messages() == []
    html = page.get_data(as_text=True)
    assert f"method={other}" in html
    assert second_factor_page(client, other).status_code == 200
    response = submit_code(client, totp_code(key) if other == "totp" else codes[0], other)
    assert response.status_code in (200, 303), error_of(response)
    assert client.get("/account/security").status_code == 200  # signed in


def test_an_unreachable_gateway_gives_the_same_clear_message_and_stores_no_code(app, client, sms_user,
                                                                                 closed_port_url):
    give_totp(sms_user, default=False)
    _use_gateway(app, closed_port_url)
    to_second_factor(client)
    page = second_factor_page(client)
    assert page.status_code == 503 and "another method" in error_of(page)
    assert count(SmsCode) == 0
    resend = post(client, "/login/second-factor/resend")
    assert resend.status_code == 503 and count(SmsCode) == 0


def test_at_enrolment_a_new_code_within_30_seconds_is_refused_and_allowed_after(signed_in, clock):
    assert post(signed_in, "/account/sms/enrol", password=TEST_PASSWORD, phone=MOBILE).status_code == 303
    clock.advance(10)
    early = post(signed_in, "/account/sms/confirm", action="resend")
    assert early.status_code == 429 or (early.status_code == 400 and "wait" in error_of(early).lower())
    assert len(sms_messages()) == 1
    clock.advance(21)
    later = post(signed_in, "/account/sms/confirm", action="resend")
    assert later.status_code == 200 and len(sms_messages()) == 2
    assert post(signed_in, "/account/sms/confirm", action="confirm", code=last_sms_code()).status_code == 303


def test_a_failed_enrolment_text_is_reported_and_never_claimed_as_sent(app, signed_in, gateway_500):
    _use_gateway(app, gateway_500[0])
    response = post(signed_in, "/account/sms/enrol", password=TEST_PASSWORD, phone=MOBILE)
    assert response.status_code == 503 and "could not send" in error_of(response)
    assert count(SmsCode) == 0
    confirm = signed_in.get("/account/sms/confirm")
    assert "We sent a code" not in confirm.get_data(as_text=True)
