"""Fixtures for single logout (RP-Initiated Logout 1.0, Back-Channel Logout 1.0): real local HTTP receivers that
record the logout tokens idp posts, relying parties registered with them, and a signed-in browser."""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest

from helpers import TEST_PASSWORD, AuthorizationRequest
from idp.oidc import logout


class Receiver(ThreadingHTTPServer):
    """An RP's back-channel logout endpoint on 127.0.0.1: records each POST, then answers the next of ``statuses``
    (the last one repeats) after ``delay`` seconds (a slow or hanging RP)."""

    daemon_threads = True

    def __init__(self, statuses: list[int], delay: float = 0.0):
        super().__init__(("127.0.0.1", 0), _ReceiverHandler)
        self.statuses, self.delay = statuses, delay
        self.posts: list[dict] = []
        self.released = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_port}/backchannel-logout"

    def status(self) -> int:
        return self.statuses[min(len(self.posts), len(self.statuses)) - 1]


class _ReceiverHandler(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 (http.server's naming)
        body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
        self.server.posts.append({"content_type": self.headers.get("Content-Type"),
                                  **{k: v[0] for k, v in parse_qs(body).items()}})
        self.server.released.wait(self.server.delay)
        self.send_response(self.server.status())
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def settings(settings):
    """The relying parties here listen on 127.0.0.1: allow local back-channel logout URIs (development setting)."""
    return settings.replace(clients={"allow_local_uris": True})

@pytest.fixture
def make_receiver():
    started: list[tuple[Receiver, threading.Thread]] = []

    def make(*statuses: int, delay: float = 0.0) -> Receiver:
        server = Receiver(list(statuses) or [200], delay)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        started.append((server, thread))
        return server

    yield make
    for server, _ in started:
        server.released.set()
    logout.wait_for_deliveries(timeout=30)
    for server, thread in started:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def closed_port_url() -> str:
    """A loopback URL where nothing listens (connection refused): an RP that is down."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/backchannel-logout"


@pytest.fixture
def make_rp(make_client, monkeypatch):
    """A trusted confidential client like the panels, with a post-logout URI and maybe a back-channel URI.

    Deliveries pause briefly between attempts, and all have finished before the app (and its database) goes."""
    monkeypatch.setattr(logout, "DELIVERY_BACKOFF", 0.05)
    counter = iter(range(1, 100))

    def make(backchannel_logout_uri: str | None = None, **kwargs):
        n = next(counter)
        return make_client(redirect_uri=f"http://127.0.0.1:90{n:02d}/callback", name=f"Panel {n}",
                           post_logout_redirect_uris=[f"http://127.0.0.1:90{n:02d}/"],
                           backchannel_logout_uri=backchannel_logout_uri, **kwargs)

    yield make
    logout.wait_for_deliveries(timeout=30)


@dataclass
class SignedIn:
    """What an RP holds after a code flow: its client and the token response (with ``id_token``)."""

    client: object
    tokens: dict = field(repr=False)

    @property
    def id_token(self) -> str:
        return self.tokens["id_token"]


@pytest.fixture
def sign_in(browser, user):
    """Sign in to an RP through the browser (password the first time, single sign-on after)."""

    def run(rp) -> SignedIn:
        authz = AuthorizationRequest(rp)
        code = browser.code(authz, user.username, TEST_PASSWORD)
        response = browser.client.post("/token", data=authz.token_form(code), headers=authz.basic_auth())
        assert response.status_code == 200, response.json
        return SignedIn(rp, response.json)

    return run
