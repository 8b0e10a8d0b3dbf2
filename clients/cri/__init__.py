"""Classic Reseller Interface (CRI): a relying party of idp, served on port 8002 in the demo."""

from __future__ import annotations

import os

from flask import Flask

from ..panel import PanelSettings, create_panel_app, load_panel_settings

DEFAULTS = {"name": "Classic Reseller Interface", "cookie_name": "cri_session"}
CONFIG_ENV = "CRI_CONFIG"
DEFAULT_CONFIG = "instance/cri.toml"


def create_app(settings: PanelSettings | None = None) -> Flask:
    """The CRI app; without ``settings`` they are read from ``$CRI_CONFIG`` (default ``instance/cri.toml``)."""
    if settings is None:
        settings = load_panel_settings(os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG, DEFAULTS)
    return create_panel_app(settings)
