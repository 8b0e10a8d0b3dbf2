"""The stack ceiling: idp's own app and gunicorn settings with one extra trivial route, ``GET /bench/hello``.

Run exactly like ``idp serve`` (same environment, ``--bind``, ``--workers``, ``--threads``): ``IdpServer`` with the
same options, ``create_app`` with the same settings, so the request passes through the same gunicorn worker class,
Flask app, ProxyFix, ``after_request`` hooks (session and device cookies, security headers) and error handlers as
every idp endpoint; only the view does nothing. The route is added here, never in idp, so no configuration can
switch a benchmark endpoint on in production.

    python -m bench.stack_server --bind 127.0.0.1:8000 --workers 2
"""

from __future__ import annotations

import argparse

from idp.config import load_settings
from idp.server import IdpServer


def hello():
    return "hello\n", 200, {"Content-Type": "text/plain"}


class StackServer(IdpServer):
    def load(self):
        app = super().load()
        app.add_url_rule("/bench/hello", "bench_hello", hello)
        return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bind", action="append")
    parser.add_argument("--workers", type=int)
    parser.add_argument("--threads", type=int)
    args = parser.parse_args()
    StackServer(load_settings(), bind=args.bind, workers=args.workers, threads=args.threads).run()


if __name__ == "__main__":
    main()
