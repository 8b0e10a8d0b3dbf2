"""The /dev/outbox page: hidden (404) outside demo mode, lists console-sent messages newest first in demo mode."""

from __future__ import annotations

import pytest

from idp.delivery import send_email, send_sms
from idp.extensions import db


def test_outbox_is_404_outside_demo_mode(client):
    assert client.get("/dev/outbox").status_code == 404


@pytest.mark.settings(demo=True)
def test_outbox_shows_sent_sms_and_email_newest_first(app, client):
    send_sms("+447700900123", "Your reseller login code is 123456.")
    send_email("dana@acme.example", "Your password was changed", "Hello <Dana>,\nit changed.")
    db.session.commit()

    response = client.get("/dev/outbox")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "console senders" in html and "demo mode" in html.lower()
    assert "+447700900123" in html and "Your reseller login code is 123456." in html
    assert "dana@acme.example" in html and "Your password was changed" in html
    assert "<pre>Hello &lt;Dana&gt;,\nit changed.</pre>" in html
    assert html.index("dana@acme.example") < html.index("+447700900123")


@pytest.mark.settings(demo=True)
def test_empty_outbox(client):
    assert "No messages yet" in client.get("/dev/outbox").get_data(as_text=True)
