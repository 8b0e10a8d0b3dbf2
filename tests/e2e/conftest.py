"""End-to-end fixtures: idp, RCP and CRI as real servers (stack_servers.py) and a chromium page."""

from __future__ import annotations

import pytest
from playwright.sync_api import sync_playwright

from clients import panel
from stack_servers import CHROMIUM, CHROMIUM_ARGS, running_stack


@pytest.fixture
def settings(settings):
    """The relying parties here listen on 127.0.0.1: allow local back-channel logout URIs (development setting)."""
    return settings.replace(clients={"allow_local_uris": True})


@pytest.fixture(autouse=True)
def _panel_logout_stores_in_tmp(tmp_path, monkeypatch):
    """The panels remember back-channel logouts in a file: a temporary one here, never the real instance/."""
    monkeypatch.setattr(panel, "LOGOUT_STORE_DIR", str(tmp_path))


@pytest.fixture
def stack(settings, _panel_logout_stores_in_tmp):
    with running_stack(settings) as running:
        yield running


@pytest.fixture
def page():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        context = browser.new_context()
        yield context.new_page()
        context.close()
        browser.close()
