"""Security-key tests run with an issuer that has a host name: browsers refuse WebAuthn for IP addresses."""

from __future__ import annotations

import pytest

from webauthn_helpers import ISSUER


@pytest.fixture
def settings(settings):
    return settings.replace(issuer=ISSUER) if settings.issuer == "http://127.0.0.1:8000" else settings
