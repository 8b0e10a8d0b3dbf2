"""``idp serve``: run idp in production under gunicorn (see docs/deployment.md)."""

from __future__ import annotations

import click

from ..config import ConfigError, load_settings


@click.command()
@click.option("--bind", "bind", multiple=True, help="Address to listen on, HOST:PORT (default: [server] host and port).")
@click.option("--workers", type=click.IntRange(min=1), help="Worker processes (default: [server] workers).")
@click.option("--threads", type=click.IntRange(min=1), help="Threads per worker (default: [server] threads).")
def serve(bind: tuple[str, ...], workers: int | None, threads: int | None):
    """Serve idp with gunicorn: several workers, graceful shutdown on SIGTERM."""
    from ..server import IdpServer

    try:
        settings = load_settings()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    IdpServer(settings, bind=list(bind) or None, workers=workers, threads=threads).run()
