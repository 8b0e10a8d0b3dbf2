"""URLs idp itself calls (back-channel logout, jwks_uri) must be https on public hosts unless the development
setting ``clients.allow_local_uris`` is on (SSRF); checked at registration and again before connecting."""

from __future__ import annotations

import pytest

from idp.config import Settings
from idp.oidc import logout
from idp.oidc.logout import Delivery
from idp.oidc.registration import ClientError, create_client, update_client
from idp.security import outbound


@pytest.mark.parametrize("uri", [
    "http://rp.example/bc", "https://127.0.0.1/bc", "https://[::1]/bc", "https://localhost/bc",
    "https://app.localhost/bc", "https://10.1.2.3/bc", "https://172.16.0.1/bc", "https://192.168.0.1/bc",
    "https://169.254.169.254/latest", "https://100.64.0.1/bc", "https://[fd00::1]/bc", "https://[fe80::1]/bc",
    "https://[::ffff:127.0.0.1]/bc", "https://0.0.0.0/bc", "https://intranet/bc", "https://224.0.0.1/bc",
])
def test_local_and_plain_http_destinations_are_refused(uri):
    with pytest.raises(outbound.OutboundError):
        outbound.check_url(uri, allow_local=False)
    assert outbound.check_url(uri, allow_local=True) == uri


@pytest.mark.parametrize("uri", ["https://rp.example/bc", "https://8.8.8.8/bc", "https://[2001:4860::8888]/bc"])
def test_public_https_destinations_are_accepted(uri):
    assert outbound.check_url(uri, allow_local=False) == uri


def test_a_name_resolving_to_a_loopback_address_is_refused_before_connecting(monkeypatch):
    monkeypatch.setattr(outbound.socket, "getaddrinfo", lambda *a, **k: [(2, 1, 6, "", ("127.0.0.1", 443))])
    with pytest.raises(outbound.OutboundError, match="non-public"):
        outbound.check_destination("https://rebind.example/bc", allow_local=False)


def test_demo_mode_and_the_setting_allow_local_destinations():
    assert not outbound.allows_local(Settings())
    assert outbound.allows_local(Settings(demo=True))
    assert outbound.allows_local(Settings().replace(clients={"allow_local_uris": True}))


def test_the_service_refuses_a_local_backchannel_uri_on_create_and_update(app):
    with pytest.raises(ClientError, match="backchannel_logout_uri: must use https"):
        create_client(name="X", redirect_uris=["https://x.example/cb"], backchannel_logout_uri="http://127.0.0.1/bc")
    client, _ = create_client(name="X", redirect_uris=["http://127.0.0.1:9000/cb"])  # redirect URIs: unaffected
    with pytest.raises(ClientError, match="backchannel_logout_uri: must not point"):
        update_client(client, backchannel_logout_uri="https://10.0.0.1/bc")


@pytest.mark.settings(clients={"allow_local_uris": True})
def test_the_development_setting_accepts_a_local_backchannel_uri(app):
    client, _ = create_client(name="X", redirect_uris=["https://x.example/cb"],
                              backchannel_logout_uri="http://127.0.0.1:8001/backchannel-logout")
    assert client.backchannel_logout_uri == "http://127.0.0.1:8001/backchannel-logout"


def test_a_stored_local_uri_gets_no_logout_token_once_the_setting_is_off(app, monkeypatch):
    posted = []
    monkeypatch.setattr(logout.requests, "post", lambda *a, **k: posted.append(a))
    delivery = Delivery(client_id="rcp", uri="http://127.0.0.1:8001/backchannel-logout", logout_token="t", sid="s")
    assert logout.deliver(app, delivery) is False
    assert posted == []
