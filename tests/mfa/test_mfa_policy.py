"""When a client or the account owner asks for two factors: MFA or an error, never a password-level code."""

from __future__ import annotations

from idp.extensions import db
from mfa_helpers import (ACR_MFA, AuthorizationCode, authorize_to_password, clock, count, enrol_totp,
                         finish_authorization, give_totp, id_token_claims, password_login, query)

__all__ = ["clock"]


def _no_code_for_the_client(response, authz) -> None:
    """The answer is not a redirect carrying a code: an enrolment page of the provider, or an error for the client."""
    assert count(AuthorizationCode) == 0
    if response.status_code in (302, 303) and response.location.startswith(authz.redirect_uri):
        params = query(response.location)
        assert "code" not in params and params.get("error"), params
    else:
        assert response.status_code in (302, 303) and response.location.startswith("/account/"), \
            (response.status_code, response.location)


def test_acr_values_mfa_for_a_user_without_a_second_factor_never_gets_a_password_level_code(client, authz, user):
    response = finish_authorization(client, authorize_to_password(client, authz, acr_values=ACR_MFA), limit=1)
    _no_code_for_the_client(response, authz)


def test_acr_values_mfa_with_an_existing_password_session_never_gets_a_password_level_code(client, authz, user):
    assert password_login(client).status_code == 303  # signed in earlier, password only
    response = client.get(authz.url(acr_values=ACR_MFA))
    _no_code_for_the_client(response, authz)


def test_acr_values_mfa_completes_with_mfa_after_the_user_enrols(client, authz, user, clock):
    response = finish_authorization(client, authorize_to_password(client, authz, acr_values=ACR_MFA), limit=1)
    assert response.location.startswith("/account/security"), response.location
    uid = query(response.location)["uid"]
    enrol_totp(client, uid=uid)
    final = finish_authorization(client, client.get(f"/authorize/resume/{uid}"))
    assert final.status_code == 302 and "code" in query(final.location), final.location
    claims = id_token_claims(client, authz, query(final.location)["code"])
    assert claims["acr"] == ACR_MFA and "mfa" in claims["amr"]


def test_an_account_that_requires_2fa_leads_a_user_without_one_to_enrolment_right_after_the_password(
        client, authz, user):
    user.account.require_2fa = True
    db.session.commit()
    response = finish_authorization(client, authorize_to_password(client, authz), limit=1)
    assert response.status_code == 303 and response.location.startswith("/account/security"), response.location
    assert "uid=" in response.location
    assert count(AuthorizationCode) == 0
    page = client.get(response.location).get_data(as_text=True)
    assert "requires two-factor authentication" in page


def test_after_enrolling_as_the_account_requires_the_authorization_completes_with_a_code(client, authz, user, clock):
    user.account.require_2fa = True
    db.session.commit()
    response = finish_authorization(client, authorize_to_password(client, authz), limit=1)
    uid = query(response.location)["uid"]
    key, codes = enrol_totp(client, uid=uid)
    assert len(codes) == 10
    final = finish_authorization(client, client.get(f"/authorize/resume/{uid}"))
    assert final.status_code == 302 and "code" in query(final.location), final.location
    claims = id_token_claims(client, authz, query(final.location)["code"])
    assert claims["acr"] == ACR_MFA and claims["amr"] == ["pwd", "otp", "mfa"]


def test_an_account_that_requires_2fa_gives_no_code_to_a_password_only_session(client, authz, user):
    assert password_login(client).status_code == 303  # before the owner turned the requirement on
    user.account.require_2fa = True
    db.session.commit()
    response = client.get(authz.url())
    _no_code_for_the_client(response, authz)


def test_prompt_none_when_a_second_factor_is_still_needed_answers_interaction_required(client, authz, user, clock):
    assert password_login(client).status_code == 303  # a password-only session
    give_totp(user)  # a factor added since (e.g. in another browser)
    response = client.get(authz.url(prompt="none"))
    assert response.status_code == 302 and response.location.startswith(authz.redirect_uri)
    assert query(response.location).get("error") == "interaction_required"
    assert count(AuthorizationCode) == 0


def test_prompt_none_when_the_account_requires_2fa_answers_interaction_required(client, authz, user):
    assert password_login(client).status_code == 303
    user.account.require_2fa = True
    db.session.commit()
    response = client.get(authz.url(prompt="none"))
    assert response.status_code == 302 and query(response.location).get("error") == "interaction_required"


def test_prompt_none_with_acr_values_mfa_for_a_password_session_answers_interaction_required(client, authz, user):
    assert password_login(client).status_code == 303
    response = client.get(authz.url(prompt="none", acr_values=ACR_MFA))
    assert response.status_code == 302 and query(response.location).get("error") == "interaction_required"
    assert count(AuthorizationCode) == 0


def test_a_password_only_session_of_a_user_who_has_since_added_a_factor_is_asked_for_it(client, authz, user, clock):
    assert password_login(client).status_code == 303
    give_totp(user)
    response = client.get(authz.url())
    assert response.status_code == 303 and "/login/second-factor" in response.location
    assert count(AuthorizationCode) == 0


def test_an_account_that_requires_2fa_leads_to_enrolment_after_the_password_also_without_a_client(client, user):
    user.account.require_2fa = True
    db.session.commit()
    response = password_login(client)  # "sign in here" on the provider's home page
    assert response.status_code == 303
    assert response.location.startswith("/account/"), response.location
