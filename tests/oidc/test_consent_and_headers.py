"""Consent for untrusted clients, CSRF on the forms, security headers and cookies on the hosted pages, the 303 after
a credentials POST (AS-14) and the binding of a parked authorization request to its browser (AS-17)."""

from __future__ import annotations

import pytest

from helpers import TEST_PASSWORD, AuthorizationRequest, assert_redirect_error, csrf_token, query
from idp.extensions import db

ISSUER = "http://127.0.0.1:8000"


class OtherBrowser:
    """A second browser. The ``app`` fixture keeps one app context for the whole test, so ``flask.g`` (the cached
    login session, the new session cookie, Flask-WTF's CSRF token) would be shared with the first browser: each
    request of this one runs in an app context of its own, as it would in a real server."""

    def __init__(self, app):
        self.app = app
        self.client = app.test_client()

    def open(self, url: str, method: str = "GET", **kwargs):
        db.session.commit()  # on SQLite an open transaction of the test would hold the write lock
        with self.app.app_context():
            return self.client.open(url, method=method, **kwargs)

    def login(self, username: str, password: str = TEST_PASSWORD):
        page = self.open("/login")
        form = {"csrf_token": csrf_token(page.get_data(as_text=True)), "username": username, "password": password}
        response = self.open("/login", method="POST", data=form)
        assert response.status_code == 303, response.status_code
        return response


@pytest.fixture
def third_party(make_client) -> AuthorizationRequest:
    return AuthorizationRequest(make_client(redirect_uri="http://127.0.0.1:9100/callback", name="Partner tool",
                                            trusted=False))


def consent_location(browser, authz) -> str:
    """Log in for ``authz`` and return where the browser is sent next (the consent page for an untrusted client)."""
    response = browser.authorize(authz, "dana", TEST_PASSWORD)
    assert response.status_code == 303, response.status_code
    assert response.location.startswith("/consent/"), response.location
    return response.location


def decide(browser, location: str, decision: str):
    page = browser.client.get(location)
    return browser.client.post(location, data={"csrf_token": csrf_token(page.get_data(as_text=True)),
                                               "decision": decision})


def set_cookies(response) -> dict[str, str]:
    cookies = {}
    for header in response.headers.getlist("Set-Cookie"):
        name = header.split("=", 1)[0]
        cookies[name] = header
    return cookies


# consent

def test_untrusted_client_shows_consent_page_after_login(client, browser, third_party, user):
    location = consent_location(browser, third_party)
    page = client.get(location)
    assert page.status_code == 200
    assert b"Partner tool" in page.data
    assert b'value="allow"' in page.data


def test_trusted_client_skips_consent(client, browser, authz, user):
    response = browser.authorize(authz, "dana", TEST_PASSWORD)
    assert response.status_code == 302
    assert "code" in query(response.location)


def test_consent_denied_redirects_with_access_denied(client, browser, third_party, user):
    response = decide(browser, consent_location(browser, third_party), "deny")
    params = assert_redirect_error(response, "access_denied", third_party.redirect_uri)
    assert params["state"] == third_party.state
    assert params["iss"] == ISSUER


def test_consent_denied_issues_no_code(client, browser, third_party, user):
    response = decide(browser, consent_location(browser, third_party), "deny")
    assert "code" not in query(response.location)


def test_consent_without_decision_is_treated_as_denied(client, browser, third_party, user):
    location = consent_location(browser, third_party)
    page = client.get(location)
    response = client.post(location, data={"csrf_token": csrf_token(page.get_data(as_text=True))})
    assert_redirect_error(response, "access_denied", third_party.redirect_uri)


def test_consent_allowed_issues_a_code(client, browser, third_party, user):
    response = decide(browser, consent_location(browser, third_party), "allow")
    assert response.status_code == 303
    response = client.get(response.location)
    assert response.status_code == 302
    params = query(response.location)
    assert response.location.startswith(third_party.redirect_uri + "?")
    assert "code" in params
    assert params["state"] == third_party.state


def test_code_issued_after_consent_redeems_for_tokens(client, browser, third_party, user):
    response = client.get(decide(browser, consent_location(browser, third_party), "allow").location)
    code = query(response.location)["code"]
    token = client.post("/token", data=third_party.token_form(code), headers=third_party.basic_auth())
    assert token.status_code == 200, token.json


def test_second_authorization_after_consent_skips_the_consent_page(client, browser, third_party, user):
    client.get(decide(browser, consent_location(browser, third_party), "allow").location)
    again = AuthorizationRequest(third_party.client)
    response = client.get(again.url())
    assert response.status_code == 302
    assert "code" in query(response.location)


def test_authorization_asking_more_scope_than_consented_asks_again(client, browser, make_client, user):
    narrow = AuthorizationRequest(make_client(redirect_uri="http://127.0.0.1:9100/callback", trusted=False),
                                  scope="openid")
    client.get(decide(browser, consent_location(browser, narrow), "allow").location)
    wider = AuthorizationRequest(narrow.client, scope="openid email")
    response = client.get(wider.url())
    assert response.status_code == 303
    assert response.location.startswith("/consent/")


def test_prompt_none_for_untrusted_client_without_consent_redirects_with_consent_required(client, browser, authz,
                                                                                          third_party, user):
    browser.code(authz, "dana", TEST_PASSWORD)
    response = client.get(third_party.url(prompt="none"))
    assert_redirect_error(response, "consent_required", third_party.redirect_uri)


def test_consent_post_without_csrf_token_is_refused_with_400(client, browser, third_party, user):
    location = consent_location(browser, third_party)
    response = client.post(location, data={"decision": "allow"})
    assert response.status_code == 400
    assert "location" not in response.headers


def test_consent_post_without_csrf_token_issues_no_code(client, browser, third_party, user):
    location = consent_location(browser, third_party)
    client.post(location, data={"decision": "allow"})
    response = client.get(AuthorizationRequest(third_party.client).url())
    assert response.status_code == 303
    assert response.location.startswith("/consent/")


def test_consent_page_cannot_be_reused_after_a_decision(client, browser, third_party, user):
    location = consent_location(browser, third_party)
    decide(browser, location, "deny")
    assert client.get(location).status_code == 400


def test_consent_page_from_a_different_browser_is_refused(app, browser, third_party, user):
    location = consent_location(browser, third_party)
    other = OtherBrowser(app)
    other.login("dana")
    response = other.open(location)
    assert response.status_code == 400
    assert b"Partner tool" not in response.data


def test_consent_allow_from_a_different_browser_issues_no_code(app, client, browser, third_party, user):
    location = consent_location(browser, third_party)
    other = OtherBrowser(app)
    other.login("dana")
    token = csrf_token(other.open("/login").get_data(as_text=True))
    response = other.open(location, method="POST", data={"csrf_token": token, "decision": "allow"},
                          follow_redirects=True)
    assert response.status_code == 400
    assert all("code=" not in (r.location or "") for r in [*response.history, response])


def test_login_post_without_csrf_token_is_refused_with_400(client, authz, user):
    response = client.post("/login", data={"username": "dana", "password": TEST_PASSWORD})
    assert response.status_code == 400
    assert "idp_session" not in set_cookies(response)


# security headers (AS-13, AS-15)

def pages(client, browser, authz, third_party) -> dict:
    login = client.get(client.get(authz.url()).location)
    error = client.get(authz.url(redirect_uri="https://evil.example/cb"))
    consent = client.get(consent_location(browser, third_party))
    return {"login": login, "authorize-error": error, "consent": consent}


@pytest.mark.parametrize("page", ["login", "authorize-error", "consent"])
def test_html_page_forbids_framing(client, browser, authz, third_party, user, page):
    response = pages(client, browser, authz, third_party)[page]
    assert response.mimetype == "text/html"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"


@pytest.mark.parametrize("page", ["login", "authorize-error", "consent"])
def test_html_page_sends_nosniff(client, browser, authz, third_party, user, page):
    response = pages(client, browser, authz, third_party)[page]
    assert response.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("page", ["login", "authorize-error", "consent"])
def test_html_page_sends_no_referrer(client, browser, authz, third_party, user, page):
    response = pages(client, browser, authz, third_party)[page]
    assert response.headers["Referrer-Policy"] == "no-referrer"


@pytest.mark.parametrize("page", ["login", "authorize-error", "consent"])
def test_html_page_loads_no_third_party_resources(client, browser, authz, third_party, user, page):
    html = pages(client, browser, authz, third_party)[page].get_data(as_text=True)
    assert 'src="http' not in html
    assert 'href="http' not in html
    assert 'src="//' not in html and 'href="//' not in html


def test_authorization_redirect_sends_no_referrer(client, browser, authz, user):
    response = browser.authorize(authz, "dana", TEST_PASSWORD)
    assert response.status_code == 302
    assert response.headers["Referrer-Policy"] == "no-referrer"


# cookies

def test_login_session_cookie_is_httponly(client, browser, authz, user):
    login = client.get(authz.url()).location
    cookie = set_cookies(browser.submit_login(login, "dana", TEST_PASSWORD))["idp_session"]
    assert "HttpOnly" in cookie


def test_login_session_cookie_is_samesite_lax(client, browser, authz, user):
    login = client.get(authz.url()).location
    cookie = set_cookies(browser.submit_login(login, "dana", TEST_PASSWORD))["idp_session"]
    assert "SameSite=Lax" in cookie


def test_flow_cookie_is_httponly_and_samesite_lax(client, authz):
    cookie = set_cookies(client.get(authz.url()))["idp_flow"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_login_session_cookie_changes_at_each_login(client, browser, authz, user):
    first = client.get_cookie("idp_session")
    assert first is None
    browser.code(authz, "dana", TEST_PASSWORD)
    first = client.get_cookie("idp_session").value
    browser.authorize(authz, "dana", TEST_PASSWORD, prompt="login", nonce="second")
    assert client.get_cookie("idp_session").value != first


# AS-14: credentials POST answers 303

def test_login_form_post_answers_303(client, browser, authz, user):
    login = client.get(authz.url()).location
    response = browser.submit_login(login, "dana", TEST_PASSWORD)
    assert response.status_code == 303


def test_login_form_post_without_authorization_request_answers_303(client, browser, user):
    response = browser.submit_login("/login", "dana", TEST_PASSWORD)
    assert response.status_code == 303


def test_consent_form_post_answers_303(client, browser, third_party, user):
    response = decide(browser, consent_location(browser, third_party), "allow")
    assert response.status_code == 303


def test_consent_deny_redirect_answers_303(client, browser, third_party, user):
    response = decide(browser, consent_location(browser, third_party), "deny")
    assert response.status_code == 303


# AS-17: a parked request is bound to the browser that started it

def test_resume_url_from_a_different_browser_shows_400_page(app, client, browser, authz, user, make_user):
    make_user("mallory")
    login = client.get(authz.url()).location
    resume = browser.submit_login(login, "dana", TEST_PASSWORD).location
    assert resume.startswith("/authorize/resume/")
    other = OtherBrowser(app)
    other.login("mallory")
    response = other.open(resume)
    assert response.status_code == 400
    assert "location" not in response.headers


def test_resume_url_from_a_different_browser_issues_no_code(app, client, browser, authz, user):
    login = client.get(authz.url()).location
    resume = browser.submit_login(login, "dana", TEST_PASSWORD).location
    response = OtherBrowser(app).open(resume, follow_redirects=True)
    assert all("code=" not in (r.location or "") for r in [*response.history, response])
    assert response.status_code == 400


def test_login_page_of_a_different_browsers_request_shows_400_page(app, client, authz, user):
    login = client.get(authz.url()).location
    assert OtherBrowser(app).open(login).status_code == 400


def test_login_post_for_a_different_browsers_request_issues_no_code(app, client, authz, user):
    login = client.get(authz.url()).location
    other = OtherBrowser(app)
    token = csrf_token(other.open("/login").get_data(as_text=True))
    form = {"csrf_token": token, "username": "dana", "password": TEST_PASSWORD, "uid": query(login)["uid"]}
    response = other.open("/login", method="POST", data=form, follow_redirects=True)
    assert response.status_code == 400
    assert all("code=" not in (r.location or "") for r in [*response.history, response])


def test_resume_url_cannot_be_used_twice(client, browser, authz, user):
    login = client.get(authz.url()).location
    resume = browser.submit_login(login, "dana", TEST_PASSWORD).location
    assert client.get(resume).status_code == 302
    assert client.get(resume).status_code == 400


def test_unknown_resume_uid_shows_400_page(client):
    response = client.get("/authorize/resume/does-not-exist")
    assert response.status_code == 400
    assert "location" not in response.headers
