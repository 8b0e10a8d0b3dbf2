"""The client's address and scheme behind reverse proxies: trusted from exactly ``server.proxy_hops`` proxies.

werkzeug's ``ProxyFix`` takes the ``proxy_hops``-th value from the right of ``X-Forwarded-For`` and
``X-Forwarded-Proto``: the one our own nearest proxies wrote, so entries a client adds on the left are ignored, and a
header with fewer entries than hops changes nothing. What it takes is then checked: a client address that is not an
IP address, or a scheme other than http or https, falls back to what the socket said (authentik CVE-2024-47070: an
unparsable "a" must not bypass anything). ``X-Forwarded-Host`` and ``-Prefix`` are never trusted; every URL idp
builds comes from the configured issuer.
"""

from __future__ import annotations

import ipaddress

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix


def trust_proxies(app: Flask, hops: int) -> None:
    if hops:
        app.wsgi_app = ProxyFix(CheckForwardedValues(app.wsgi_app), x_for=hops, x_proto=hops, x_host=0, x_port=0,
                                x_prefix=0)


def normalised_address(value: str | None) -> str | None:
    """``value`` as a canonical IP address, or None when it is not one (ports, names and garbage are refused)."""
    try:
        return str(ipaddress.ip_address((value or "").strip()))
    except ValueError:
        return None


class CheckForwardedValues:
    """WSGI middleware inside ``ProxyFix``: undo what it took from a header when the value is not usable."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        original = environ.get("werkzeug.proxy_fix.orig", {})
        address = normalised_address(environ.get("REMOTE_ADDR"))
        environ["REMOTE_ADDR"] = address or original.get("REMOTE_ADDR") or ""
        if environ.get("wsgi.url_scheme") not in ("http", "https"):
            environ["wsgi.url_scheme"] = original.get("wsgi.url_scheme") or "http"
        return self.app(environ, start_response)
