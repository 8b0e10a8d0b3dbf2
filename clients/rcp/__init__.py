"""Resellers Control Panel (RCP): a relying party of idp, served on port 8001 in the demo."""

from __future__ import annotations

import os

from flask import Flask

from ..panel import PanelSettings, create_panel_app, load_panel_settings

DEFAULTS = {"name": "Resellers Control Panel", "cookie_name": "rcp_session"}
CONFIG_ENV = "RCP_CONFIG"
DEFAULT_CONFIG = "instance/rcp.toml"


def create_app(settings: PanelSettings | None = None) -> Flask:
    """The RCP app; without ``settings`` they are read from ``$RCP_CONFIG`` (default ``instance/rcp.toml``)."""
    if settings is None:
        settings = load_panel_settings(os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG, DEFAULTS)
    return create_panel_app(settings)
