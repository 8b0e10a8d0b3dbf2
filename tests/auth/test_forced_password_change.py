"""A password set by an administrator must be replaced at the next login, before any client gets a code."""

from __future__ import annotations

from helpers import TEST_PASSWORD, csrf_token, query
from idp.extensions import db


def test_the_user_chooses_a_new_password_before_the_code_is_issued(client, browser, authz, user):
    user.password_change_required = True
    db.session.commit()
    response = client.get(authz.url())
    response = browser.submit_login(response.location, "dana", TEST_PASSWORD)
    assert response.location == "/login/new-password"
    page = client.get(response.location).get_data(as_text=True)
    assert 'autocomplete="new-password"' in page
    same = client.post("/login/new-password", data={"csrf_token": csrf_token(page), "new_password": TEST_PASSWORD,
                                                     "repeat_password": TEST_PASSWORD})
    assert same.status_code == 400
    weak = client.post("/login/new-password", data={"csrf_token": csrf_token(page), "new_password": "short",
                                                     "repeat_password": "short"})
    assert weak.status_code == 400
    done = client.post("/login/new-password", data={"csrf_token": csrf_token(page),
                                                     "new_password": "my very own passphrase",
                                                     "repeat_password": "my very own passphrase"})
    assert done.status_code == 303
    final = client.get(done.location)
    assert "code" in query(final.location)
    db.session.refresh(user)
    assert not user.password_change_required


def test_the_new_password_page_needs_a_pending_sign_in(client):
    assert client.get("/login/new-password").status_code == 400
