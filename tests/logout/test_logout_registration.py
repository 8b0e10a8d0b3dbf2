"""Registering a back-channel logout URI (Back-Channel Logout 1.0 section 2.2): validated like redirect URIs, from
``create_client``, the ``idp clients create --backchannel-logout-uri`` option and the demo seed."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from idp.cli import cli
from idp.extensions import db
from idp.models import Client
from idp.oidc.registration import ClientError, create_client
from idp.seed import PANELS, seed_panel


@pytest.mark.parametrize(("uri", "words"), [("http://rp.example/bc", "https"), ("https://rp.example/bc#x", "fragment"),
                                            ("https://*.example/bc", "wildcard"), ("/bc", "absolute")])
def test_a_bad_backchannel_logout_uri_is_refused(app, uri, words):
    with pytest.raises(ClientError, match=f"backchannel_logout_uri: .*{words}"):
        create_client(name="X", redirect_uris=["https://rp.example/cb"], backchannel_logout_uri=uri)


def test_the_cli_registers_a_backchannel_logout_uri(app):
    result = app.test_cli_runner().invoke(cli, args=[
        "clients", "create", "--name", "Billing", "--redirect-uri", "https://billing.example.com/cb",
        "--backchannel-logout-uri", "https://billing.example.com/backchannel-logout", "--json"])
    assert result.exit_code == 0, result.output
    client = db.session.scalar(sa.select(Client).where(Client.client_id == json.loads(result.output)["client_id"]))
    assert client.backchannel_logout_uri == "https://billing.example.com/backchannel-logout"
    refused = app.test_cli_runner().invoke(cli, args=[
        "clients", "create", "--name", "X", "--redirect-uri", "https://x.example/cb",
        "--backchannel-logout-uri", "http://x.example/bc"])
    assert refused.exit_code != 0 and "backchannel_logout_uri" in refused.output


def test_the_seed_registers_the_panels_backchannel_logout_uris(app, tmp_path):
    for panel in PANELS:
        seed_panel(panel, "http://127.0.0.1:8000", tmp_path)
    db.session.commit()
    uris = dict(db.session.execute(sa.select(Client.client_id, Client.backchannel_logout_uri)).all())
    assert uris == {"rcp": "http://127.0.0.1:8001/backchannel-logout", "cri": "http://127.0.0.1:8002/backchannel-logout"}
    db.session.get(Client, 1).backchannel_logout_uri = None  # registered before this feature: the seed adds it
    seed_panel(PANELS[0], "http://127.0.0.1:8000", tmp_path)
    assert db.session.get(Client, 1).backchannel_logout_uri == "http://127.0.0.1:8001/backchannel-logout"
