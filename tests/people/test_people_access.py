"""Who may use the Users pages: the account owner only, for their own account only; CSRF on every form."""

from __future__ import annotations

from people_helpers import add_person, audit_events, member, owner, post, sign_in, user_named  # noqa: F401  (fixtures)


def test_signed_out_visitor_is_sent_to_the_login_page(client):
    response = client.get("/account/users")
    assert response.status_code == 303 and response.location.endswith("/login?next=security")


def test_member_gets_403_on_every_owner_page(client, owner, member):
    sign_in(client, "dana")
    assert client.get("/account/users").status_code == 403
    assert post(client, "/account/users", username="sam", email="sam@acme.example").status_code == 403
    assert post(client, f"/account/users/{owner.id}/disable").status_code == 403
    assert post(client, "/account/users/require-2fa", required="1").status_code == 403
    assert user_named("sam") is None and not user_named("olivia").disabled
    assert not user_named("dana").account.require_2fa


def test_admin_may_manage_the_people_of_their_account(client, make_user):
    make_user("ada", role="admin")
    sign_in(client, "ada")
    assert client.get("/account/users").status_code == 200


def test_list_shows_only_the_owners_account(client, owner, member, make_user):
    make_user("bob", account="Other Reseller")
    sign_in(client, "olivia")
    page = client.get("/account/users").get_data(as_text=True)
    assert "user1@acme.example" in page and "user2@acme.example" in page
    assert "bob" not in page and "user3@acme.example" not in page
    assert "Require two-factor authentication for everyone in Acme Reseller" in page


def test_owner_cannot_see_or_change_a_user_of_another_account(client, owner, make_user):
    bob = make_user("bob", account="Other Reseller")
    sign_in(client, "olivia")
    for action in ("disable", "enable", "remove"):
        response = post(client, f"/account/users/{bob.id}/{action}")
        assert response.status_code == 404, action
    assert post(client, "/account/users/999999/disable").status_code == 404
    bob = user_named("bob")
    assert bob is not None and not bob.disabled
    assert audit_events("person_disabled") == [] and audit_events("person_removed") == []


def test_another_accounts_owner_cannot_change_my_users(client, member, make_user):
    make_user("oscar", account="Other Reseller", role="owner")
    sign_in(client, "oscar")
    assert post(client, f"/account/users/{member.id}/disable").status_code == 404
    assert post(client, "/account/users/require-2fa", required="1").status_code == 303
    assert not user_named("dana").disabled
    assert not user_named("dana").account.require_2fa  # oscar changed his own account only
    assert user_named("oscar").account.require_2fa


def test_unknown_action_is_404(client, owner, member):
    sign_in(client, "olivia")
    assert post(client, f"/account/users/{member.id}/promote").status_code == 404


def test_posts_without_csrf_token_are_refused(client, owner, member):
    sign_in(client, "olivia")
    link = add_person(client)
    assert client.post("/account/users", data={"username": "sam2", "email": "s2@acme.example"}).status_code == 400
    assert client.post(f"/account/users/{member.id}/disable").status_code == 400
    assert client.post(f"/account/users/{member.id}/remove").status_code == 400
    assert client.post("/account/users/require-2fa", data={"required": "1"}).status_code == 400
    path = "/setup/" + link.rsplit("/", 1)[1]
    assert client.post(path, data={"password": "violet kettle", "password_again": "violet kettle"}).status_code == 400
    dana = user_named("dana")
    assert not dana.disabled and not dana.account.require_2fa and user_named("sam2") is None
