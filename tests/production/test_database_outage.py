"""PostgreSQL unreachable under load (through a TCP proxy the test controls): every request that needs the database
fails fast with 503 and ``Retry-After`` (an HTML page for browsers, ``temporarily_unavailable`` JSON on the token and
userinfo endpoints), never a 500 nor a hang past the configured timeouts; once the database is back the same
processes serve again, without a restart.

Two outages: the database refuses connections (it went down), then it goes silent (a partition: connections are
accepted and never answered, so only idp's own ``connect_timeout`` ends the wait).
"""

from __future__ import annotations

import itertools
import logging
import statistics
import time

import pytest
import requests

from helpers import AuthorizationRequest, csrf_token
from production_helpers import Journey, PersonPool, Recorder, RecordingSession, StepFailed, run_load

pytestmark = pytest.mark.e2e
log = logging.getLogger(__name__)

CONCURRENCY = 8
DATABASE = {"connect_timeout": 2, "pool_timeout": 2, "statement_timeout": 5, "retry_after": 3}
#: the longest a request may take while the database is away: the configured waits, plus slack for a busy machine
BOUND = DATABASE["connect_timeout"] + DATABASE["pool_timeout"] + 6
OUTAGE_SECONDS = 4
KINDS = ("authorize", "password", "token", "userinfo", "home")


def outage_request(kind: str, at: str, rig, signed_in: Journey, http: requests.Session) -> requests.Response:
    """One request of ``kind`` that needs the database."""
    if kind == "authorize":
        return http.get(at + AuthorizationRequest(rig.client).url(), allow_redirects=False, timeout=30)
    if kind == "password":
        page = http.get(at + "/login", timeout=30)  # needs no database: the form and its CSRF token
        assert page.status_code == 200, page.status_code
        return http.post(at + "/login", data={"csrf_token": csrf_token(page.text), "username": "out0",
                                              "password": "whatever it is"}, allow_redirects=False, timeout=30)
    if kind == "token":
        return http.post(at + "/token", data={"grant_type": "refresh_token", "refresh_token": "x" * 43},
                         headers=signed_in.authz.basic_auth(), timeout=30)
    if kind == "userinfo":
        return http.get(at + "/userinfo", headers={"Authorization": "Bearer " + "x" * 43}, timeout=30)
    return http.get(at + "/", cookies=signed_in.http.cookies, timeout=30)


def check_unavailable(kind: str, response: requests.Response) -> None:
    assert response.status_code == 503, (kind, response.status_code, response.text[:300])
    assert response.headers.get("Retry-After") == str(DATABASE["retry_after"]), kind
    if kind in ("token", "userinfo"):
        assert response.headers["Content-Type"].startswith("application/json"), kind
        assert response.json()["error"] == "temporarily_unavailable"
        assert response.headers["Cache-Control"] == "no-store"
    else:
        assert response.headers["Content-Type"].startswith("text/html"), kind
        assert "temporarily unavailable" in response.text


def outage_load(rig, signed_in: Journey, seconds: float) -> Recorder:
    recorder = Recorder()
    kinds = itertools.cycle(KINDS)
    failures: list[str] = []

    def operation(i: int) -> None:
        kind, at = next(kinds), rig.urls[i % 2]
        try:
            check_unavailable(kind, outage_request(kind, at, rig, signed_in, RecordingSession(recorder)))
        except (AssertionError, requests.RequestException) as exc:
            failures.append(f"{kind} on {at}: {exc!r}")

    crashes = run_load(CONCURRENCY, operation, lambda: False, max_seconds=seconds)
    assert not crashes and not failures, (crashes, failures[:5])
    return recorder


def summary(recorder: Recorder) -> str:
    seconds = [a.seconds for a in recorder.answers if a.step != "GET login"]
    return (f"{len(seconds)} requests, statuses {recorder.statuses()}, median {statistics.median(seconds):.2f} s, "
            f"max {max(seconds):.2f} s")


def sign_in_until_it_works(rig, pool: PersonPool, at: list[str], timeout: float = 60) -> float:
    """Seconds until a whole sign-in succeeds again; answers on the way must be 503s (the pool recovering)."""
    started = time.monotonic()
    while True:
        person = pool.take()
        try:
            Journey(rig.client, person).sign_in(at)
            return time.monotonic() - started
        except StepFailed as exc:
            assert exc.status == 503, exc
        finally:
            pool.give_back(person)
        assert time.monotonic() - started < timeout, "idp did not recover"
        time.sleep(0.5)


def test_an_unreachable_database_gets_503_quickly_and_idp_recovers_without_restart(make_rig):
    rig = make_rig(people={"out": (40, True)}, through_proxy=True, sections={"database": DATABASE})
    pool = PersonPool(rig.people["out"])
    workers = {p.name: p.worker_pids() for p in rig.processes}
    signed_in = Journey(rig.client, pool.take())
    signed_in.sign_in(rig.urls)

    rig.proxy.refuse()
    refused = outage_load(rig, signed_in, OUTAGE_SECONDS)
    rig.proxy.silence()
    silent = outage_load(rig, signed_in, OUTAGE_SECONDS)
    rig.proxy.restore()
    recovered = [sign_in_until_it_works(rig, pool, [url]) for url in rig.urls]

    log.warning("database refused: %s; silent: %s; recovered in %s s", summary(refused), summary(silent),
                [round(s, 2) for s in recovered])
    for recorder in (refused, silent):
        assert all(a.seconds <= BOUND for a in recorder.answers), max(a.seconds for a in recorder.answers)
        assert None not in recorder.statuses()
    assert {p.name: p.worker_pids() for p in rig.processes} == workers  # served again by the same workers
    assert signed_in.refresh(rig.urls[1])["access_token"]  # the session from before the outage still works
    assert signed_in.userinfo(rig.urls[0])["sub"]
