"""Fixtures for the production tests: ``make_rig`` builds ``idp serve`` processes on one PostgreSQL database
(production_rig.py); on SQLite these tests are skipped."""

from __future__ import annotations

import pytest

from production_rig import Rig, build_rig


@pytest.fixture
def make_rig(tmp_path):
    """Build a rig for one test (``build_rig``'s arguments); stopped afterwards."""
    rigs = []

    def make(**kwargs) -> Rig:
        rigs.append(build_rig(tmp_path / f"rig{len(rigs)}", **kwargs))
        return rigs[-1]

    yield make
    for rig in rigs:
        rig.stop()
