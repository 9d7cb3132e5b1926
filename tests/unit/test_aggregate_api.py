"""The aggregate store's own API, the pure parts: one reading of a change record, the audit
trail's filters in the log's terms, and "already there" as a typed answer."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime

from services.members.membership.domain import JoinMember, join
from shared.aggregate import AlreadyExists, Change, ChangeFilter
from shared.errors import Conflict
from shared.timeutil import local_today

AT = datetime(2026, 3, 1, 2, 30, tzinfo=UTC)


def record(**over) -> dict:
    doc = {
        "_id": "m-1#0000000002",
        "aggregate": "m-1",
        "version": 2,
        "action": "withdraw",
        "by": "cadre-1",
        "request": "trace-1",
        "at": AT,
        "changed": {"status": {"from": "active", "to": "withdrawn"}},
        "state": {"campus": "east", "status": "withdrawn"},
        "outbox": [{"type": "members.member.withdrawn.v1", "id": "e1"}],
    }
    return {**doc, **over}


def test_a_change_record_reads_as_one_history_entry():
    change = Change.from_doc(record())
    assert change == Change(
        aggregate_id="m-1",
        version=2,
        action="withdraw",
        by="cadre-1",
        request="trace-1",
        at=AT,
        changed={"status": {"from": "active", "to": "withdrawn"}},
        events=["members.member.withdrawn.v1"],
        campus="east",
    )


def test_a_change_read_without_its_state_or_events_has_no_campus_and_no_events():
    doc = record()
    for key in ("state", "outbox", "request", "changed"):
        del doc[key]
    change = Change.from_doc(doc)
    assert change.campus is None and change.events == [] and change.request is None
    assert change.changed == {}


def test_the_change_filter_speaks_the_logs_field_names():
    where = ChangeFilter(
        by="cadre-1", action="join", aggregate_id="m-1", campuses=["east"], since=AT, until=AT
    )
    assert where.query() == {
        "by": "cadre-1",
        "action": "join",
        "aggregate": "m-1",
        "state.campus": {"$in": ["east"]},
        "at": {"$gte": AT, "$lt": AT},
    }
    assert ChangeFilter().query() == {}


def test_a_named_campus_narrows_the_callers_campuses():
    where = ChangeFilter(campus="east", campuses=["east", "west"], until=AT)
    assert where.query() == {"state.campus": "east", "at": {"$lt": AT}}


def test_already_exists_is_the_409_conflict_add_always_answered_and_carries_the_aggregate():
    member = join(
        JoinMember(staff_no="T0001", name="张三", campus="main", department="艺术系"),
        local_today(),
    )
    exc = AlreadyExists("members", member)
    assert isinstance(exc, Conflict) and exc.status == 409
    assert (exc.code, exc.message, exc.details) == (
        "members.exists",
        "记录已存在",
        {"id": member.id},
    )
    assert exc.existing is member


def test_the_aggregate_store_loads_no_web_framework():
    """The store is for handlers and workers too: importing it must not pull FastAPI/JWT."""
    probe = (
        "import sys, shared.aggregate, shared.consumer, shared.outbox, shared.scheduler;"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'fastapi', 'starlette', 'jwt'}))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
