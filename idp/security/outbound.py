"""Requests idp itself sends to URLs a client registered: back-channel logout URIs and private_key_jwt ``jwks_uri``.

Client metadata must not make idp reach into its own network (server-side request forgery): such a URL is https,
and its host is a public DNS name or a public IP address: not ``localhost``, not a single-label name, not a
loopback, private (RFC 1918, fc00::/7), link-local, shared (100.64/10) or reserved address. ``clients.allow_local_uris``
(or demo mode) lifts this for development, where the panels listen on 127.0.0.1.

The rule is checked twice: when the URL is registered (``check_url``, every way in) and when idp connects
(``check_destination``: the name is resolved and every address must be public, so a DNS name pointing at
127.0.0.1 is refused too). A name that changes its answer between that check and the connection (DNS rebinding)
is not covered; a proxy that enforces the same rule is the complete answer for that.
"""

from __future__ import annotations

import ipaddress
import json
import socket
import time
from urllib.parse import urlsplit

import requests
from flask import current_app

LOCAL_NAMES = ("localhost", "localhost.localdomain")


class OutboundError(ValueError):
    """A URL idp will not send requests to, or an answer it will not use; the message says why (no secrets)."""


def allows_local(settings=None) -> bool:
    settings = settings or current_app.config["IDP_SETTINGS"]
    return settings.demo or settings.clients.allow_local_uris


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def check_url(uri: str, allow_local: bool) -> str:
    """Why ``uri`` may not be a destination of idp's requests (OutboundError), else ``uri``."""
    try:
        parts = urlsplit(uri)
        host = parts.hostname
    except ValueError:
        raise OutboundError("not a valid URL") from None
    if allow_local:
        return uri
    if parts.scheme != "https":
        raise OutboundError("must use https (http only with clients.allow_local_uris, for development)")
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    host = (host or "").rstrip(".").lower()
    if literal is not None:
        if not _is_public(str(literal)):
            raise OutboundError("must not point at a loopback, private or link-local address "
                                "(only with clients.allow_local_uris, for development)")
    elif host in LOCAL_NAMES or host.endswith(".localhost") or "." not in host:
        raise OutboundError("must name a public host, not localhost or a single-label name "
                            "(only with clients.allow_local_uris, for development)")
    return uri


def check_destination(uri: str, allow_local: bool) -> None:
    """Just before connecting: the URL passes ``check_url`` and its host resolves only to public addresses."""
    check_url(uri, allow_local)
    if allow_local:
        return
    parts = urlsplit(uri)
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        raise OutboundError("the host name does not resolve") from None
    if not infos or not all(_is_public(info[4][0]) for info in infos):
        raise OutboundError("the host resolves to a non-public address")


def fetch_json(uri: str, *, timeout: float, max_bytes: int, allow_local: bool) -> object:
    """GET a JSON document from a registered URL: no redirects, a timeout and a size limit."""
    check_destination(uri, allow_local)
    deadline = time.monotonic() + timeout  # ``timeout`` alone bounds each read, not a slow trickle
    try:
        with requests.get(uri, timeout=timeout, allow_redirects=False, stream=True,
                          headers={"Accept": "application/json"}) as response:
            if response.status_code != 200:
                raise OutboundError(f"answered HTTP {response.status_code}")
            body = b""
            for chunk in response.iter_content(8192):
                body += chunk
                if len(body) > max_bytes:
                    raise OutboundError(f"answer larger than {max_bytes} bytes")
                if time.monotonic() > deadline:
                    raise OutboundError("answer too slow")
    except requests.RequestException as exc:
        raise OutboundError(f"could not be fetched ({type(exc).__name__})") from None
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        raise OutboundError("answer is not JSON") from None
