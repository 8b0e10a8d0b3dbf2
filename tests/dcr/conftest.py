"""Fixtures for Dynamic Client Registration: an initial access token and a client registered with one."""

from __future__ import annotations

import pytest

from dcr_helpers import issue, register


@pytest.fixture
def initial_token(app) -> str:
    return issue()


@pytest.fixture
def registered(client, initial_token) -> dict:
    """The 201 body of a confidential client's registration (client_secret_basic)."""
    response = register(client, initial_token)
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()
