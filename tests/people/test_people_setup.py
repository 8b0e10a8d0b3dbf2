"""Adding a user: the one-time set-up link (emailed and shown once), choosing a password with it, signing in."""

from __future__ import annotations

from unittest import mock

from helpers import TEST_PASSWORD
from idp.delivery import DeliveryError
from idp.extensions import db
from idp.models import SetupToken
from people_helpers import (  # noqa: F401  (owner is a fixture)
    NEW_PASSWORD, add_person, audit_events, emails_to, error_of, later, new_browser, owner, path_of, post, set_password,
    sign_in, user_named,
)


def test_owner_adds_a_user_who_sets_a_password_once_then_signs_in(client, owner):
    sign_in(client, "olivia")
    link = add_person(client)
    assert link.startswith("http://127.0.0.1:8000/setup/")
    assert client.get("/account/users/added").status_code == 303  # the link is shown once
    mails = emails_to("sam@acme.example")
    assert len(mails) == 1 and link in mails[0].body and "sam" in mails[0].body
    sam = user_named("sam")
    assert (sam.account_id, sam.role, sam.display_name, sam.disabled) == (owner.account_id, "member", "Sam Lee", False)
    assert "Waiting for set-up" in client.get("/account/users").get_data(as_text=True)

    newcomer = new_browser(client)
    page = newcomer.get(path_of(link)).get_data(as_text=True)
    assert 'autocomplete="new-password"' in page and 'value="sam"' in page
    response = set_password(newcomer, link)
    assert response.status_code == 303 and response.location.endswith("/setup/done")
    done = newcomer.get(response.location).get_data(as_text=True)
    assert "Your password is set" in done and 'href="/login"' in done

    assert newcomer.get(path_of(link)).status_code == 404  # single use
    assert post(newcomer, path_of(link), password="another fine passphrase",
                password_again="another fine passphrase").status_code == 404
    sign_in(newcomer, "sam", NEW_PASSWORD)
    assert "Waiting for set-up" not in client.get("/account/users").get_data(as_text=True)
    assert len(audit_events("password_set_by_setup_link")) == 1


def test_set_up_link_is_stored_only_as_a_checksum(client, owner):
    sign_in(client, "olivia")
    link = add_person(client)
    row = db.session.scalar(db.select(SetupToken))
    assert path_of(link).rsplit("/", 1)[1] not in row.token_hash
    assert (row.expires_at - row.created_at).total_seconds() == 72 * 3600


def test_the_new_user_cannot_sign_in_before_setting_a_password(client, owner):
    sign_in(client, "olivia")
    add_person(client)
    response = post(new_browser(client), "/login", username="sam", password=TEST_PASSWORD)
    assert response.status_code == 401


def test_expired_set_up_link_is_refused(client, owner):
    sign_in(client, "olivia")
    link = add_person(client)
    newcomer = new_browser(client)
    with mock.patch("idp.clock.now", return_value=later(72 * 3600 + 1)):
        assert newcomer.get(path_of(link)).status_code == 404
        assert post(newcomer, path_of(link), password=NEW_PASSWORD, password_again=NEW_PASSWORD).status_code == 404
    with mock.patch("idp.clock.now", return_value=later(71 * 3600)):
        assert newcomer.get(path_of(link)).status_code == 200


def test_weak_password_at_set_up_is_refused_with_the_reason_and_the_link_still_works(client, owner):
    sign_in(client, "olivia")
    link = add_person(client)
    newcomer = new_browser(client)
    response = set_password(newcomer, link, "password")
    assert response.status_code == 400
    assert error_of(response) == "This password is too common; choose another."
    response = set_password(newcomer, link, "short")
    assert response.status_code == 400 and "at least 8 characters" in error_of(response)
    response = set_password(newcomer, link, NEW_PASSWORD, again=NEW_PASSWORD + "x")
    assert response.status_code == 400 and error_of(response) == "The two passwords are not the same."
    assert set_password(newcomer, link).status_code == 303


def test_unknown_set_up_link_is_refused(client):
    assert client.get("/setup/not-a-real-token").status_code == 404
    assert client.get("/setup/" + "x" * 200).status_code == 404


def test_email_failure_is_reported_to_the_owner_and_the_link_is_shown_for_printing(client, owner):
    sign_in(client, "olivia")
    with mock.patch("idp.people.service.send_email", side_effect=DeliveryError("mail server down")):
        response = post(client, "/account/users", username="sam", email="sam@acme.example", display_name="")
    assert response.status_code == 303
    page = client.get(response.location).get_data(as_text=True)
    assert "could not email" in page and 'id="setup-link">http://127.0.0.1:8000/setup/' in page
    sam = user_named("sam")
    assert sam is not None and sam.display_name == "sam"
    assert audit_events("person_added")[0].details["emailed"] is False


def test_add_refuses_a_taken_username_or_a_bad_email_with_the_reason(client, owner):
    sign_in(client, "olivia")
    response = post(client, "/account/users", username="olivia", email="o2@acme.example", display_name="")
    assert response.status_code == 400 and "is taken" in error_of(response)
    response = post(client, "/account/users", username="sam", email="not-an-address", display_name="")
    assert response.status_code == 400 and error_of(response) == "Email: not a valid address."
    assert 'value="not-an-address"' in response.get_data(as_text=True)  # the form keeps what was typed
    assert user_named("sam") is None
