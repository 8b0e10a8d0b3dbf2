"""The WebAuthn checks themselves, on responses made by a software authenticator: attestation "none", origins and
RP ids, single-use expiring challenges bound to their transaction, signature counters, flags, the amr rule."""

from __future__ import annotations

import json
from datetime import timedelta
from unittest import mock

import pytest

import idp.clock
from helpers import b64url, unb64url
from idp.auth.methods import webauthn
from idp.extensions import db
from webauthn_helpers import ISSUER, SoftAuthenticator, audit_events, emails, keys_of

BINDING = "enrol:1"


def _register(user, authenticator, **create):
    options = json.loads(webauthn.registration_options(user, BINDING, "YubiKey 5"))
    credential = webauthn.register(user, BINDING, authenticator.create(options, **create))
    db.session.commit()
    return credential


def _assert(user, authenticator, purpose=webauthn.SECOND_FACTOR, binding="login:1", uv_required=False, **get):
    options = json.loads(webauthn.authentication_options(purpose, binding, user if purpose != webauthn.PASSKEY
                                                         else None))
    response = authenticator.get(options, **get)
    assertion = webauthn.load_assertion(response, purpose, binding, user if purpose != webauthn.PASSKEY else None)
    return webauthn.check_assertion(assertion, uv_required), response


@pytest.fixture
def key(user):
    authenticator = SoftAuthenticator()
    _register(user, authenticator)
    return authenticator


def test_the_rp_id_and_origin_come_from_the_issuer(app):
    assert webauthn.relying_party() == ("localhost", ISSUER)
    assert webauthn.available()


@pytest.mark.settings(issuer="http://127.0.0.1:9000")
def test_an_issuer_on_an_ip_address_offers_no_keys(app):
    assert not webauthn.available()


def test_registration_options_ask_for_no_attestation_a_discoverable_key_and_exclude_known_keys(user, key):
    options = json.loads(webauthn.registration_options(user, BINDING, "Laptop"))
    assert options["rp"] == {"id": "localhost", "name": "Reseller login"}
    assert options["attestation"] == "none"
    assert options["authenticatorSelection"]["residentKey"] == "preferred"
    assert len(unb64url(options["challenge"])) == 32
    assert [c["id"] for c in options["excludeCredentials"]] == [b64url(key.credential_id)]
    assert options["user"]["name"] == "dana" and options["user"]["id"] != user.subject


def test_a_none_attestation_is_accepted_and_stored_with_its_name(user, key):
    [stored] = keys_of(user)
    assert stored.name == "YubiKey 5" and stored.attestation_format == "none"
    assert stored.credential_id == b64url(key.credential_id)
    assert stored.transports == ["usb", "nfc"] and not stored.backup_eligible


@pytest.mark.parametrize("change", [{"origin": "http://evil.example:8000"}, {"origin": "http://localhost:8001"},
                                    {"rp_id": "evil.example"}])
def test_registration_from_another_origin_or_rp_id_is_refused(user, change):
    with pytest.raises(webauthn.WebauthnFailed):
        _register(user, SoftAuthenticator(), **change)
    assert keys_of(user) == []


def test_a_registration_challenge_works_once(user):
    options = json.loads(webauthn.registration_options(user, BINDING, "Key"))
    response = SoftAuthenticator().create(options)
    webauthn.register(user, BINDING, response)
    with pytest.raises(webauthn.WebauthnFailed, match="already used"):
        webauthn.register(user, BINDING, response)


def test_a_registration_challenge_of_another_enrolment_is_refused(user):
    options = json.loads(webauthn.registration_options(user, BINDING, "Key"))
    with pytest.raises(webauthn.WebauthnFailed, match="challenge"):
        webauthn.register(user, "enrol:2", SoftAuthenticator().create(options))


def test_a_challenge_expires(user):
    options = json.loads(webauthn.registration_options(user, BINDING, "Key"))
    later = idp.clock.now() + timedelta(seconds=301)
    with mock.patch("idp.clock.now", return_value=later), pytest.raises(webauthn.WebauthnFailed, match="expired"):
        webauthn.register(user, BINDING, SoftAuthenticator().create(options))


def test_the_same_key_cannot_be_registered_twice(user, key):
    options = json.loads(webauthn.registration_options(user, BINDING, "Again"))
    with pytest.raises(webauthn.WebauthnFailed, match="already registered"):
        webauthn.register(user, BINDING, key.create(options))


@pytest.mark.parametrize("garbage", ["", "{}", "not json", '{"rawId": "x", "response": {"clientDataJSON": "!!"}}',
                                     "x" * 20_000])
def test_malformed_answers_are_refused(user, garbage):
    with pytest.raises(webauthn.WebauthnFailed):
        webauthn.register(user, BINDING, garbage)


def test_an_assertion_is_verified_and_the_counter_stored(user, key):
    amr, _ = _assert(user, key)
    assert amr == ("hwk", "user", "pin")
    [stored] = keys_of(user)
    assert stored.sign_count == 1 and stored.last_used_at is not None


def test_without_user_verification_the_amr_has_no_pin(user, key):
    amr, _ = _assert(user, key, uv=False)
    assert amr == ("hwk", "user")


def test_a_synced_passkey_is_a_software_key(user):
    authenticator = SoftAuthenticator(backup_eligible=True)
    _register(user, authenticator)
    assert keys_of(user)[0].backup_eligible
    assert _assert(user, authenticator)[0][0] == "swk"


def test_an_assertion_challenge_works_once(user, key):
    options = json.loads(webauthn.authentication_options(webauthn.SECOND_FACTOR, "login:1", user))
    response = key.get(options)
    webauthn.check_assertion(webauthn.load_assertion(response, webauthn.SECOND_FACTOR, "login:1", user), False)
    with pytest.raises(webauthn.WebauthnFailed, match="already used"):
        webauthn.load_assertion(response, webauthn.SECOND_FACTOR, "login:1", user)


def test_an_assertion_for_another_login_is_refused(user, key):
    options = json.loads(webauthn.authentication_options(webauthn.SECOND_FACTOR, "login:1", user))
    with pytest.raises(webauthn.WebauthnFailed, match="challenge"):
        webauthn.load_assertion(key.get(options), webauthn.SECOND_FACTOR, "login:2", user)


def test_a_challenge_for_the_second_factor_is_not_a_passkey_challenge(user, key):
    options = json.loads(webauthn.authentication_options(webauthn.SECOND_FACTOR, "login:1", user))
    with pytest.raises(webauthn.WebauthnFailed, match="challenge"):
        webauthn.load_assertion(key.get(options), webauthn.PASSKEY, "login:1")


def test_another_users_key_is_refused(user, make_user, key):
    other = make_user("eve")
    options = json.loads(webauthn.authentication_options(webauthn.SECOND_FACTOR, "login:1", other))
    with pytest.raises(webauthn.WebauthnFailed, match="unknown credential"):
        webauthn.load_assertion(key.get(options), webauthn.SECOND_FACTOR, "login:1", other)


@pytest.mark.parametrize("change", [{"origin": "http://evil.example:8000"}, {"origin": "https://localhost:8000"},
                                    {"rp_id": "evil.example"}, {"up": False}])
def test_assertions_from_another_origin_rp_id_or_without_presence_are_refused(user, key, change):
    with pytest.raises(webauthn.WebauthnFailed):
        _assert(user, key, **change)
    assert keys_of(user)[0].sign_count == 0


def test_a_passkey_sign_in_requires_user_verification(user, key):
    with pytest.raises(webauthn.WebauthnFailed, match="verification"):
        _assert(user, key, webauthn.PASSKEY, "browser:x", uv_required=True, uv=False)


def test_a_passkey_answer_must_carry_the_owners_user_handle(user, key):
    with pytest.raises(webauthn.WebauthnFailed, match="user handle"):
        _assert(user, key, webauthn.PASSKEY, "browser:x", uv_required=True, user_handle=False)
    key.user_handle = b"someone else"
    with pytest.raises(webauthn.WebauthnFailed, match="user handle"):
        _assert(user, key, webauthn.PASSKEY, "browser:x", uv_required=True)


def test_a_forged_signature_is_refused(user, key):
    impostor = SoftAuthenticator(credential_id=key.credential_id, user_handle=key.user_handle)
    with pytest.raises(webauthn.WebauthnFailed, match="signature"):
        _assert(user, impostor)


@pytest.mark.parametrize("counter", [5, 3])
def test_a_counter_that_does_not_grow_is_refused_and_audited_as_a_possible_clone(user, key, counter):
    _assert(user, key, counter=5)
    with pytest.raises(webauthn.CloneWarning):
        _assert(user, key, counter=counter)
    assert keys_of(user)[0].sign_count == 5
    [event] = audit_events("webauthn_clone_warning", user)
    assert event.details["stored_count"] == 5 and event.details["presented_count"] == counter
    assert any("refused" in m.subject for m in emails(user))


def test_a_counter_that_falls_back_to_zero_is_refused(user, key):
    _assert(user, key, counter=7)
    with pytest.raises(webauthn.CloneWarning):
        _assert(user, key, counter=0)


def test_an_authenticator_without_a_counter_always_sends_zero(user, key):
    for _ in range(3):
        _assert(user, key, counter=0)
    assert keys_of(user)[0].sign_count == 0
    assert audit_events("webauthn_clone_warning") == []
