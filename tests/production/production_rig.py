"""The production rig: ``idp serve`` processes sharing one PostgreSQL database and one keys directory (conftest.py's
``make_rig`` fixture, and module-scoped fixtures, build them here).

These tests are about several stateless processes on PostgreSQL, so they need IDP_TEST_DATABASE_URL to name a
PostgreSQL database; on SQLite they are skipped.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from sqlalchemy.engine import make_url

from helpers import reset_schema
from idp import create_app
from idp.config import Settings
from idp.extensions import db
from idp.oidc.keys import ensure_keys
from production_helpers import (ISSUER, IdpProcess, Person, RegisteredClient, TcpProxy, register_client,
                                seed_people, start_processes, write_config)

FAST_PASSWORDS = {"time_cost": 1, "memory_cost": 1024, "parallelism": 1}


def postgres_url() -> str:
    url = os.environ.get("IDP_TEST_DATABASE_URL", "")
    if not url.startswith("postgresql"):
        pytest.skip("several idp processes and database faults are tested on PostgreSQL only: set "
                    "IDP_TEST_DATABASE_URL=postgresql+psycopg://... (as `make test` does when PostgreSQL answers)")
    return url


@dataclass
class Rig:
    processes: list[IdpProcess]
    client: RegisteredClient
    people: dict[str, list[Person]]
    config: Path
    engine: sa.Engine
    settings: Settings
    proxy: TcpProxy | None = None
    extra: dict = field(default_factory=dict)

    @property
    def urls(self) -> list[str]:
        return [p.url for p in self.processes]

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            process.stop()
        if self.proxy is not None:
            self.proxy.refuse()
        self.engine.dispose()


def build_rig(workdir: Path, *, people: dict[str, tuple[int, bool]], names=("a", "b"), through_proxy=False,
              sections: dict[str, dict] | None = None, workers: int = 2, threads: int = 4, seed=None) -> Rig:
    """Seed a clean schema with ``people`` (prefix -> (count, with TOTP)) and a trusted client, write the servers'
    configuration (plus ``sections``), and start one ``idp serve`` per name; with ``through_proxy`` the servers
    reach PostgreSQL through a TcpProxy the test can cut. ``seed(people)`` may add more (inside the app context);
    what it returns is kept as ``rig.extra``."""
    url = postgres_url()
    keys_dir = workdir / "keys"
    keys_dir.mkdir(mode=0o700, parents=True)
    ensure_keys(keys_dir)
    settings = Settings(issuer=ISSUER, secret_key=secrets.token_urlsafe(32),
                        client_secret_key=secrets.token_urlsafe(32)).replace(
        database={"url": url}, keys={"dir": str(keys_dir), "rotation_lead_time": 0}, passwords=FAST_PASSWORDS,
        mfa={"encryption_key": Fernet.generate_key().decode()})
    app = create_app(settings)
    with app.app_context():
        reset_schema()
        client = register_client()
        seeded = {prefix: seed_people(prefix, count, totp) for prefix, (count, totp) in people.items()}
        extra = seed(seeded) if seed else {}
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    proxy = None
    server_url = url
    if through_proxy:
        parsed = make_url(url)
        proxy = TcpProxy((parsed.host or "127.0.0.1", parsed.port or 5432))
        server_url = parsed.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    conf_sections = {
        "database": {"url": server_url},
        "keys": {"dir": str(keys_dir), "rotation_lead_time": 0},
        "passwords": FAST_PASSWORDS,
        "mfa": {"encryption_key": settings.mfa.encryption_key},
        "server": {"graceful_timeout": 2},
    }
    for name, values in (sections or {}).items():
        conf_sections.setdefault(name, {}).update(values)
    config = write_config(workdir / "config.toml", {"issuer": ISSUER, "secret_key": settings.secret_key,
                                                    "client_secret_key": settings.client_secret_key}, conf_sections)
    try:
        processes = start_processes(names, config, workdir, workers=workers, threads=threads)
    except BaseException:
        if proxy is not None:
            proxy.refuse()
        raise
    return Rig(processes=processes, client=client, people=seeded, config=config, engine=sa.create_engine(url),
               settings=settings, proxy=proxy, extra=extra or {})
