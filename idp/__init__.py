"""idp: an OpenID Connect identity provider for the reseller panels."""

from .app import create_app

__all__ = ["create_app"]
