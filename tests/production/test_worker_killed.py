"""A gunicorn worker killed with SIGKILL in the middle of a 16-way load of sign-ins (password + TOTP) and
authenticator-app enrolments on two ``idp serve`` processes: every answered success is in the database, nothing is
half-written (one transaction per request), the master replaces the worker and the load goes on.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time

import pytest
import requests

from production_helpers import (Journey, PersonPool, Recorder, RecordingSession, StepFailed, count_rows, enrol_totp,
                                run_load)

pytestmark = pytest.mark.e2e
log = logging.getLogger(__name__)

CONCURRENCY = 16
LOGINS_PER_USER = """
SELECT u.username,
       (SELECT count(*) FROM audit_event e WHERE e.subject_id = u.id AND e.event = 'login_success'),
       (SELECT count(*) FROM login_session s WHERE s.user_id = u.id),
       (SELECT count(*) FROM login_flow f WHERE f.user_id = u.id AND f.completed_at IS NOT NULL)
FROM "user" u WHERE u.username LIKE 'login%'
"""
ENROLMENT_PER_USER = """
SELECT u.username,
       (SELECT count(*) FROM totp_credential t WHERE t.user_id = u.id AND t.confirmed_at IS NOT NULL),
       u.default_method IS NOT NULL,
       (SELECT count(*) FROM recovery_code r WHERE r.user_id = u.id),
       (SELECT count(*) FROM audit_event e WHERE e.subject_id = u.id AND e.event = 'second_factor_enabled')
FROM "user" u WHERE u.username LIKE 'enrol%'
"""


def rows(engine, sql):
    import sqlalchemy as sa

    with engine.connect() as conn:
        return conn.execute(sa.text(sql)).all()


def test_a_worker_killed_mid_load_loses_no_answered_request(make_rig):
    rig = make_rig(people={"login": (120, True), "enrol": (40, False)})
    a_process = rig.processes[0]
    a, b = rig.urls
    recorder = Recorder()
    logins = PersonPool(rig.people["login"])
    to_enrol = list(rig.people["enrol"])
    lock = threading.Lock()
    answered = {"login": [], "token": [], "enrol": []}
    kill = {"at": None, "victim": None}

    def operation(i: int) -> None:
        hosts = [a, b] if i % 2 else [b, a]
        http = RecordingSession(recorder)
        with lock:
            person = to_enrol.pop() if i % 4 == 3 and to_enrol else None
        if person is not None:
            try:
                enrol_totp(person, hosts, http=http)
            except (StepFailed, requests.RequestException):
                return
            with lock:
                answered["enrol"].append(person.username)
            recorder.finished("enrol", person)
            return
        person = logins.take()
        try:
            journey = Journey(rig.client, person, http=http)
            journey.authorize(hosts[0])
            journey.password(hosts[1])
            journey.second_factor(hosts[0])
            with lock:
                answered["login"].append(person.username)
            tokens = journey.token(hosts[1], journey.code(hosts[0]))
            with lock:
                answered["token"].append(tokens["access_token"])
            recorder.finished("login", person)
        except (StepFailed, requests.RequestException):
            pass
        finally:
            logins.give_back(person)

    def until() -> bool:
        if kill["at"] is None:
            if len(recorder.done) >= 3:  # the load is flowing: kill a worker of A now
                kill["victim"] = sorted(a_process.worker_pids())[0]
                os.kill(kill["victim"], signal.SIGKILL)
                kill["at"] = time.monotonic()
            return False
        after = [d for d in recorder.done if d[2] > kill["at"] + 1]
        return len(after) >= 4 and time.monotonic() > kill["at"] + 3

    crashes = run_load(CONCURRENCY, operation, until, max_seconds=150)
    assert not crashes, crashes
    assert kill["at"] is not None, "the load never got going"
    statuses = recorder.statuses()
    log.warning("worker kill: %d requests, statuses %s, %d sign-ins and %d enrolments finished (%d after the kill)",
                len(recorder.answers), statuses, sum(d[0] == "login" for d in recorder.done),
                sum(d[0] == "enrol" for d in recorder.done), sum(d[2] > kill["at"] for d in recorder.done))
    assert not [s for s in statuses if s is not None and s >= 500], statuses

    # the master replaced the worker
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        pids = a_process.worker_pids()
        if len(pids) == 2 and kill["victim"] not in pids:
            break
        time.sleep(0.5)
    assert kill["victim"] not in pids and len(pids) == 2, pids

    # the load went on after the kill, on both processes
    assert sum(d[2] > kill["at"] + 1 for d in recorder.done) >= 4

    # every answered sign-in is in the database, and no sign-in is half-written
    per_user = {name: (audits, sessions, flows) for name, audits, sessions, flows in rows(rig.engine, LOGINS_PER_USER)}
    for name, (audits, sessions, flows) in per_user.items():
        assert audits == sessions == flows, (name, audits, sessions, flows)
    for name in set(answered["login"]):
        assert per_user[name][0] >= answered["login"].count(name), name
    for access_token in answered["token"]:
        info = requests.get(a + "/userinfo", headers={"Authorization": f"Bearer {access_token}"}, timeout=30)
        assert info.status_code == 200, info.text

    # every answered enrolment is whole, and every enrolment is whole or absent
    for name, apps, has_default, codes, enabled in rows(rig.engine, ENROLMENT_PER_USER):
        assert (apps, has_default, codes, enabled) in ((0, False, 0, 0), (1, True, 10, 1)), (name, apps, codes)
        if name in answered["enrol"]:
            assert apps == 1, name
    assert count_rows(rig.engine, "SELECT count(*) FROM totp_credential t JOIN \"user\" u ON u.id = t.user_id "
                                  "WHERE u.username LIKE 'enrol%' AND t.confirmed_at IS NOT NULL") >= len(answered["enrol"])
