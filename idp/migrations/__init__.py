"""Alembic migrations of idp's schema; ``upgrade(url)`` brings a database to the newest revision.

Rule for every revision: additive first (new tables, nullable columns), so the previous release keeps serving while
``idp db upgrade`` runs; destructive steps come one release later.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

HERE = Path(__file__).resolve().parent


def config_for(url: str) -> Config:
    cfg = Config(str(HERE / "alembic.ini"))
    cfg.set_main_option("script_location", str(HERE))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(config_for(url), revision)
