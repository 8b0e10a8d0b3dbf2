#!/usr/bin/env bash
# Run the whole suite on SQLite, then again on PostgreSQL when one answers on 127.0.0.1:5432.
# Arguments are passed to pytest. Fails if any run fails. The PostgreSQL run holds the sustained-load test
# (tests/production/test_soak.py) for 60 s, as issue #7 asks; IDP_SOAK_SECONDS=10 shortens it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PYTHON=.venv/bin/python
PG_PROBE_URL=postgresql://postgres@127.0.0.1:5432/test
PG_TEST_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test

results=()
failed=0

run_suite() {
    local label=$1
    shift
    echo "== tests on $label"
    if "$@"; then
        results+=("$label: passed")
    else
        results+=("$label: FAILED")
        failed=1
    fi
}

run_suite SQLite env -u IDP_TEST_DATABASE_URL "$PYTHON" -m pytest "$@"

if "$PYTHON" -c 'import sys, psycopg; psycopg.connect(sys.argv[1], connect_timeout=3).close()' "$PG_PROBE_URL" \
        >/dev/null 2>&1; then
    run_suite PostgreSQL env IDP_TEST_DATABASE_URL="$PG_TEST_URL" IDP_SOAK_SECONDS="${IDP_SOAK_SECONDS:-60}" "$PYTHON" -m pytest "$@"
else
    results+=("PostgreSQL: skipped (nothing answers at $PG_PROBE_URL)")
fi

echo "== databases tested"
printf '   %s\n' "${results[@]}"
exit "$failed"
