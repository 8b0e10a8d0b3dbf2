"""Client address and scheme behind proxies: trusted from exactly ``server.proxy_hops`` hops; a malformed
X-Forwarded-For never bypasses throttling and never causes a 500 (authentik CVE-2024-47070)."""

from __future__ import annotations

import pytest
from flask import request

from ops_helpers import behind_proxy, last_event, password_login


def test_without_trusted_proxies_x_forwarded_for_is_ignored(client, user):
    behind_proxy(client, X_FORWARDED_FOR="203.0.113.7")
    password_login(client, password="wrong")
    assert last_event("login_failed").ip == "10.0.0.5"


@pytest.mark.settings(server={"proxy_hops": 1})
@pytest.mark.parametrize(("forwarded", "seen"), [
    ("203.0.113.7", "203.0.113.7"),
    ("198.51.100.1, 203.0.113.7", "203.0.113.7"),  # a client-supplied entry on the left is ignored
    ("2001:DB8::1", "2001:db8::1"),
])
def test_one_trusted_hop_uses_the_address_our_proxy_appended(client, user, forwarded, seen):
    behind_proxy(client, X_FORWARDED_FOR=forwarded)
    assert password_login(client, password="wrong").status_code == 401
    assert last_event("login_failed").ip == seen


@pytest.mark.settings(server={"proxy_hops": 1})
@pytest.mark.parametrize("forwarded", ["a", "unknown", "<script>", "203.0.113.7:443", "1.2.3.4, a", " , ",
                                       "999.1.1.1", "203.0.113.7\x00", "x" * 5000])
def test_a_malformed_x_forwarded_for_falls_back_to_the_socket_peer(client, user, forwarded):
    behind_proxy(client, X_FORWARDED_FOR=forwarded)
    assert password_login(client, password="wrong").status_code == 401
    assert last_event("login_failed").ip == "10.0.0.5"


@pytest.mark.settings(server={"proxy_hops": 2})
def test_fewer_entries_than_trusted_hops_fall_back_to_the_socket_peer(client, user):
    behind_proxy(client, X_FORWARDED_FOR="203.0.113.7")
    password_login(client, password="wrong")
    assert last_event("login_failed").ip == "10.0.0.5"


@pytest.mark.settings(server={"proxy_hops": 1}, throttle={"ip_free_failures": 3})
def test_garbage_addresses_share_the_proxy_address_throttle_and_cannot_escape_it(app, make_user):
    make_user("sam")
    for n, garbage in enumerate(["a", "b", "not-an-ip"]):
        browser = behind_proxy(app.test_client(), X_FORWARDED_FOR=garbage)
        assert password_login(browser, username=f"nobody{n}", password="wrong").status_code == 401
    browser = behind_proxy(app.test_client(), X_FORWARDED_FOR="c")
    assert password_login(browser, username="sam").status_code == 401  # the right password, address throttled
    assert last_event("login_failed").details["reason"] == "throttled"
    browser = behind_proxy(app.test_client(), X_FORWARDED_FOR="203.0.113.9")
    assert password_login(browser, username="sam").status_code == 303  # another (valid) client address is fine


@pytest.fixture
def scheme_page(app):
    app.add_url_rule("/test-scheme", "test_scheme", lambda: f"{request.scheme} {request.host}")
    return "/test-scheme"


@pytest.mark.settings(server={"proxy_hops": 1})
@pytest.mark.parametrize(("proto", "scheme"), [("https", "https"), ("http", "http"), ("javascript", "http"),
                                               ("https, gopher", "http")])
def test_x_forwarded_proto_from_the_trusted_hop_sets_the_scheme_if_it_is_http_or_https(client, scheme_page, proto,
                                                                                         scheme):
    behind_proxy(client, X_FORWARDED_PROTO=proto, X_FORWARDED_HOST="evil.example")
    assert client.get(scheme_page).get_data(as_text=True) == f"{scheme} localhost"  # the host is never taken


def test_x_forwarded_proto_is_ignored_without_trusted_proxies(client, scheme_page):
    behind_proxy(client, X_FORWARDED_PROTO="https")
    assert client.get(scheme_page).get_data(as_text=True) == "http localhost"
