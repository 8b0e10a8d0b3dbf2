"""Both methods enabled: which one login asks for first, choosing it, falling back, and the audit/email trail."""

from __future__ import annotations

import pytest

from mfa_helpers import (TEST_PASSWORD, audit_events, clock, emails, enrol_sms, enrol_totp, error_of, password_login,
                         post, second_factor_page, sms_messages, to_second_factor)

__all__ = ["clock"]


@pytest.fixture
def both(client, user, clock):
    """dana enrols the app, then SMS, through the pages; ``client`` stays signed in (with both factors)."""
    assert password_login(client).status_code == 303
    enrol_totp(client)
    enrol_sms(client)
    clock.advance(31)  # past the interval between texts
    return client


def _login_page(app) -> tuple[str, int]:
    """A new browser's second-factor page after the password: (html, texts sent so far)."""
    browser = app.test_client()
    to_second_factor(browser)
    page = second_factor_page(browser)
    assert page.status_code == 200, error_of(page)
    return page.get_data(as_text=True), len(sms_messages())


def test_enabling_the_app_then_sms_makes_sms_the_default_so_login_texts_a_code_at_once(app, both):
    before = len(sms_messages())
    html, after = _login_page(app)
    assert after == before + 1
    assert "<h1>Text message (SMS)</h1>" in html and "We sent a code to" in html


def test_enabling_sms_then_the_app_makes_the_app_the_default(app, client, user, clock):
    assert password_login(client).status_code == 303
    enrol_sms(client)
    enrol_totp(client)
    clock.advance(31)
    before = len(sms_messages())
    html, after = _login_page(app)
    assert after == before
    assert "<h1>Authenticator app</h1>" in html


def test_picking_the_app_as_default_on_the_settings_page_makes_login_ask_for_the_app(app, both):
    response = post(both, "/account/default", method="totp")
    assert response.status_code == 303
    assert "default" in both.get("/account/security").get_data(as_text=True)
    before = len(sms_messages())
    html, after = _login_page(app)
    assert after == before  # nothing texted
    assert "<h1>Authenticator app</h1>" in html


def test_picking_a_method_that_is_not_enabled_as_default_is_refused(client, user, clock):
    assert password_login(client).status_code == 303
    enrol_totp(client)
    assert post(client, "/account/default", method="sms").status_code == 400
    assert post(client, "/account/default", method="recovery").status_code == 400


def test_use_another_method_lists_the_other_enrolled_method_and_a_recovery_code(app, both):
    html, _ = _login_page(app)
    other = html[html.index("Use another method"):]
    assert 'href="/login/second-factor?method=totp">Authenticator app<' in other
    assert 'href="/login/second-factor?method=recovery">Use a recovery code<' in other
    assert "method=sms" not in other  # not the method already shown


def test_disabling_asks_for_the_password(app, both):
    response = post(both, "/account/sms/disable", password="not the password")
    assert response.status_code in (400, 401) and error_of(response) == "Incorrect password."
    html, _ = _login_page(app)
    assert "<h1>Text message (SMS)</h1>" in html


def test_disabling_the_default_method_falls_back_to_the_other_one(app, both):
    assert post(both, "/account/sms/disable", password=TEST_PASSWORD).status_code == 303
    before = len(sms_messages())
    html, after = _login_page(app)
    assert after == before
    assert "<h1>Authenticator app</h1>" in html
    assert "method=sms" not in html


def test_every_enable_and_disable_is_audited_and_notified_by_email(both, user):
    assert [e.details.get("method") for e in audit_events("second_factor_enabled", user)] == ["totp", "sms"]
    assert len(emails(user)) == 2
    assert post(both, "/account/sms/disable", password=TEST_PASSWORD).status_code == 303
    assert post(both, "/account/totp/disable", password=TEST_PASSWORD).status_code == 303
    assert [e.details.get("method") for e in audit_events("second_factor_disabled", user)] == ["sms", "totp"]
    notices = emails(user)
    assert len(notices) == 4
    subjects = [n.subject for n in notices]
    assert "Authenticator app" in subjects[0] and "on" in subjects[0]
    assert "Text message" in subjects[1] and "on" in subjects[1]
    assert "Text message" in subjects[2] and "off" in subjects[2]
    assert "Authenticator app" in subjects[3] and "off" in subjects[3]
    assert "Two-factor authentication is now off" in notices[3].body


def test_changing_the_default_method_is_audited_and_notified_by_email(both, user):
    before = len(emails(user))
    assert post(both, "/account/default", method="totp").status_code == 303
    assert [e.details.get("method") for e in audit_events("default_method_changed", user)] == ["totp"]
    assert len(emails(user)) == before + 1
