"""The console's audit trail: filters by user, account, event type and time; newest first, 50 a page; the
JSON-lines download serves the same filters."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest

from admin_helpers import admin, console  # noqa: F401 (fixtures)
from helpers import post
from idp.extensions import db
from idp.models import AuditEvent

BASE = datetime(2020, 3, 1, 12, 0, tzinfo=UTC)
EVENT_ID_RE = re.compile(r'<tr id="event-(\d+)">')


@pytest.fixture
def trail(make_user):
    """60 ``probe`` events about dana (Acme Reseller), a minute apart, and one ``login_failed`` about bob (Globex)."""
    dana, bob = make_user("dana"), make_user("bob", account="Globex Hosting")
    for n in range(60):
        db.session.add(AuditEvent(event="probe", subject_id=dana.id, actor_id=dana.id, account_id=dana.account_id,
                                  created_at=BASE + timedelta(minutes=n), details={"n": n}))
    db.session.add(AuditEvent(event="login_failed", subject_id=bob.id, actor_id=bob.id, account_id=bob.account_id,
                              created_at=BASE + timedelta(days=1), details={"reason": "wrong password"}))
    db.session.commit()
    return dana, bob


def _page_ids(console, **query) -> list[int]:
    response = console.get("/admin/audit", query_string=query)
    assert response.status_code == 200
    return [int(i) for i in EVENT_ID_RE.findall(response.get_data(as_text=True))]


def _download(console, **query) -> list[dict]:
    response = console.get("/admin/audit.jsonl", query_string=query)
    assert response.status_code == 200 and response.mimetype == "application/x-ndjson"
    return [json.loads(line) for line in response.get_data(as_text=True).splitlines()]


def _n(ids: list[int]) -> list[int]:
    return [db.session.get(AuditEvent, i).details["n"] for i in ids]


def test_pages_of_50_newest_first(console, trail):
    first = _page_ids(console, event="probe")
    assert _n(first) == list(range(59, 9, -1))
    page = console.get("/admin/audit", query_string={"event": "probe"}).get_data(as_text=True)
    assert 'href="/admin/audit?page=2&amp;event=probe" rel="next"' in page
    assert _n(_page_ids(console, event="probe", page=2)) == list(range(9, -1, -1))


def test_filters_by_user_account_event_and_time(console, trail):
    dana, bob = trail
    failed = _page_ids(console, event="login_failed", account="Globex Hosting")
    assert len(failed) == 1 and db.session.get(AuditEvent, failed[0]).subject_id == bob.id
    assert _page_ids(console, user="bob", until="2020-03-03") == failed
    assert _page_ids(console, user="bob", event="probe") == []
    assert len(_page_ids(console, user="dana", account="Acme Reseller", page=2)) == 10
    window = _page_ids(console, since="2020-03-01T12:10", until="2020-03-01T12:20")
    assert _n(window) == list(range(19, 9, -1))
    assert _page_ids(console, since="2020-03-02T00:00", until="2020-03-03") == failed


def test_download_serves_the_same_filters(console, trail):
    query = {"user": "dana", "event": "probe", "since": "2020-03-01T12:05", "until": "2020-03-01T12:45"}
    records = _download(console, **query)
    assert [r["id"] for r in records] == _page_ids(console, **query)
    assert len(records) == 40 and {r["event"] for r in records} == {"probe"}
    assert set(records[0]) >= {"time", "actor_id", "subject_id", "account_id", "ip", "details"}
    assert len(_download(console, event="probe")) == 60  # every page
    assert 'href="/admin/audit.jsonl?user=dana&amp;event=probe' in console.get(
        "/admin/audit", query_string=query).get_data(as_text=True)


def test_a_deleted_users_events_are_found_by_username(console, admin, trail):
    dana, _ = trail
    post(console, f"/admin/users/{dana.id}/delete")
    removed = _page_ids(console, user="dana", event="person_removed")
    assert len(removed) == 1 and db.session.get(AuditEvent, removed[0]).actor_id == admin.id


def test_a_time_that_is_not_a_date_is_400(console):
    assert console.get("/admin/audit", query_string={"since": "yesterday"}).status_code == 400
    assert console.get("/admin/audit.jsonl", query_string={"until": "soon"}).status_code == 400


def test_download_reads_in_batches_without_losing_events_of_the_same_second(console, trail, monkeypatch):
    dana, _ = trail
    for _ in range(5):  # ties on created_at across a batch boundary
        db.session.add(AuditEvent(event="probe", subject_id=dana.id, created_at=BASE, details={"n": 0}))
    db.session.commit()
    monkeypatch.setattr("idp.admin.service.EXPORT_BATCH", 7)
    records = _download(console, event="probe")
    assert [r["id"] for r in records] == _page_ids(console, event="probe") + _page_ids(console, event="probe", page=2)
    assert len(records) == 65
