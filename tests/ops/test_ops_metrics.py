"""Prometheus metrics: off by default, behind a bearer token when on; counted where each event happens, with
bounded labels (Flask endpoint names, not paths)."""

from __future__ import annotations

import time

import pyotp
import pytest
from prometheus_client import REGISTRY

import idp.clock
from idp.delivery import DeliveryError, send_email, send_sms
from idp.extensions import db
from idp.models import TotpCredential
from idp.notices import notify
from idp.security.crypto import encrypt

from helpers import csrf, query
from ops_helpers import password_login

TOKEN = "m" * 40
ON = {"enabled": True, "token": TOKEN}
pytestmark = pytest.mark.settings(metrics=ON)


def value(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


class Delta:
    """Sample values now, to compare with later: ``delta("idp_logins_total", outcome="success", ...)``."""

    def __init__(self):
        self.before: dict = {}

    def __call__(self, name: str, **labels) -> float:
        key = (name, tuple(sorted(labels.items())))
        if key not in self.before:
            self.before[key] = value(name, **labels)
            return 0.0
        return value(name, **labels) - self.before[key]


@pytest.mark.settings(metrics={"enabled": False})
def test_metrics_are_off_by_default(client):
    assert client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 404


@pytest.mark.parametrize("authorization", [None, "Bearer wrong", f"Basic {TOKEN}", f"Bearer {TOKEN}x", "Bearer "])
def test_metrics_need_the_bearer_token(client, authorization):
    response = client.get("/metrics", headers={"Authorization": authorization} if authorization else {})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert b"idp_" not in response.data


def test_metrics_with_the_token_are_prometheus_text(client):
    client.get("/healthz")
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain")
    assert b'idp_http_request_duration_seconds_count{endpoint="ops.healthz",method="GET",status="200"}' in response.data


def test_request_latency_is_labelled_by_endpoint_not_path(client):
    delta = Delta()
    labels = {"endpoint": "unmatched", "method": "GET", "status": "404"}
    delta("idp_http_request_duration_seconds_count", **labels)
    delta("idp_http_request_duration_seconds_count", endpoint="unmatched", method="other", status="405")
    for n in range(3):
        client.get(f"/no-such-page-{n}")
    client.open("/login", method="BREW")
    assert delta("idp_http_request_duration_seconds_count", **labels) == 3
    assert not [m for m in REGISTRY.collect() for s in m.samples if "no-such-page" in str(s.labels)]


def test_logins_and_throttling_are_counted_by_outcome_and_method(client, user):
    delta = Delta()
    series = [("idp_logins_total", {"outcome": o, "method": "password"}) for o in ("success", "failure", "throttled")]
    for name, labels in series + [("idp_throttled_total", {"key": "password"})]:
        delta(name, **labels)
    password_login(client)
    for _ in range(5):
        password_login(client, password="wrong")
    password_login(client)
    assert [delta(name, **labels) for name, labels in series] == [1, 5, 1]
    assert delta("idp_throttled_total", key="password") == 1


def test_second_factor_outcomes_and_issued_tokens_are_counted(client, user, rp, authz):
    key = pyotp.random_base32(32)
    db.session.add(TotpCredential(user_id=user.id, secret_encrypted=encrypt(key), confirmed_at=idp.clock.now()))
    user.default_method = "totp"
    db.session.commit()
    delta = Delta()
    names = [("idp_second_factor_total", {"method": "totp", "outcome": o}) for o in ("success", "failure")]
    names += [("idp_tokens_issued_total", {"grant_type": g}) for g in ("authorization_code", "refresh_token")]
    names += [("idp_logins_total", {"outcome": "success", "method": "totp"})]
    for name, labels in names:
        delta(name, **labels)
    uid = query(client.get(authz.url()).location)["uid"]
    client.post("/login", data={
        "csrf_token": csrf(client), "username": "dana", "password": "a long test passphrase", "uid": uid})
    client.post("/login/second-factor", data={"csrf_token": csrf(client), "method": "totp", "code": "000000"})
    done = client.post("/login/second-factor", data={"csrf_token": csrf(client), "method": "totp",
                                                     "code": pyotp.TOTP(key).at(idp.clock.now())})
    code = query(client.get(done.location).location)["code"]
    tokens = client.post("/token", data=authz.token_form(code), headers=authz.basic_auth()).get_json()
    client.post("/token", headers=authz.basic_auth(),
                data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
    assert [delta(name, **labels) for name, labels in names] == [1, 1, 1, 1, 1]


@pytest.mark.settings(metrics=ON, sms={"sender": "http", "http_url": "http://127.0.0.1:1/sms", "timeout": 1})
def test_sms_and_email_deliveries_are_counted_sent_or_failed(app):
    delta = Delta()
    series = [("sms", "failed"), ("email", "sent")]
    for channel, outcome in series:
        delta("idp_deliveries_total", channel=channel, outcome=outcome)
    with pytest.raises(DeliveryError):
        send_sms("+447700900123", "code")
    send_email("sam@acme.example", "Hello", "A notice")
    assert [delta("idp_deliveries_total", channel=c, outcome=o) for c, o in series] == [1, 1]


@pytest.mark.settings(metrics=ON, email={"sender": "smtp", "smtp_host": "127.0.0.1", "smtp_port": 1,
                                         "smtp_starttls": False, "timeout": 1})
def test_a_notice_sent_after_the_commit_is_counted_too(app, user):
    delta = Delta()
    delta("idp_deliveries_total", channel="email", outcome="failed")
    notify(user, "A notice", "Something changed.")
    db.session.commit()  # SMTP notices leave from a background thread after the commit; port 1 refuses
    deadline = time.monotonic() + 10
    while delta("idp_deliveries_total", channel="email", outcome="failed") == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert delta("idp_deliveries_total", channel="email", outcome="failed") == 1


def test_sms_sent_is_counted(app):
    delta = Delta()
    delta("idp_deliveries_total", channel="sms", outcome="sent")
    send_sms("+447700900123", "code")
    assert delta("idp_deliveries_total", channel="sms", outcome="sent") == 1


def test_database_connections_in_use_are_a_gauge(app):
    db.session.remove()
    before = value("idp_db_pool_connections_in_use")
    with db.engine.connect():
        assert value("idp_db_pool_connections_in_use") == before + 1
    assert value("idp_db_pool_connections_in_use") == before
