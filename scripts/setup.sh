#!/usr/bin/env bash
# Idempotent setup: the virtualenv, the project installed in it (again only when pyproject.toml changed), Debian's
# chromium for the browser tests and Debian's wrk for the benchmark. Playwright never downloads a browser here.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

VENV=.venv
STAMP=$VENV/.installed
CHROMIUM=/usr/bin/chromium

as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    else
        sudo "$@"
    fi
}

if [ ! -x "$VENV/bin/python" ]; then
    echo "setup: creating $VENV"
    python3 -m venv "$VENV"
fi

if [ ! -f "$STAMP" ] || [ pyproject.toml -nt "$STAMP" ]; then
    echo "setup: installing the project into $VENV"
    "$VENV/bin/python" -m pip install --disable-pip-version-check -e '.[test,bench]'
    touch "$STAMP"
fi

missing=()
[ -x "$CHROMIUM" ] || missing+=(chromium)
command -v wrk >/dev/null || missing+=(wrk)
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing Debian's ${missing[*]}"
    as_root apt-get update
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
fi
