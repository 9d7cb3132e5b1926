"""The audit trail, read: the explicit audit log and the change logs of members and campuses.

Three append-only sources, one story of who did what to whom: `audit_log` (reveals, locks,
unlocks, passwords set, login links: `shared.audit`), `members_changes` and
`campuses_changes` (every change of a member or a campus, `shared.aggregate`). Nothing here
writes; there is no route that could.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from pymongo.asynchronous.database import AsyncDatabase

from shared.audit import AUDIT_LOG
from shared.outbox.writer import OUTBOX

Source = Literal["audit", "members", "campuses"]
CHANGE_LOGS: dict[Source, str] = {"members": "members_changes", "campuses": "campuses_changes"}


async def setup_indexes(db: AsyncDatabase) -> None:
    for name in CHANGE_LOGS.values():
        await db[name].create_index([("at", -1)])


@dataclass(frozen=True)
class AuditQuery:
    actor: str | None = None
    action: str | None = None
    target: str | None = None  # a member id (or a campus code)
    campus: str | None = None
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive
    source: Source | None = None


@dataclass(frozen=True)
class AuditRecord:
    source: Source
    id: str
    at: datetime
    by: str
    request: str | None
    action: str
    target: str
    campus: str
    detail: dict[str, Any] = field(default_factory=dict)
    changed: dict[str, dict[str, Any]] = field(default_factory=dict)
    events: list[str] = field(default_factory=list)


class AuditTrail:
    def __init__(self, db: AsyncDatabase) -> None:
        self.db = db

    @staticmethod
    def _filter(source: Source, q: AuditQuery, campuses: list[str] | None) -> dict[str, Any]:
        log = source == "audit"
        names = {
            "actor": "by",
            "action": "action",
            "target": "target" if log else "aggregate",
            "campus": "campus" if log else "state.campus",
        }
        query: dict[str, Any] = {}
        for key in ("actor", "action", "target"):
            if getattr(q, key) is not None:
                query[names[key]] = getattr(q, key)
        if campuses is not None:
            query[names["campus"]] = {"$in": campuses}
        if q.campus is not None:
            query[names["campus"]] = q.campus  # the caller may see it (checked by the route)
        at: dict[str, datetime] = {}
        if q.since is not None:
            at["$gte"] = q.since
        if q.until is not None:
            at["$lt"] = q.until
        if at:
            query["at"] = at
        return query

    async def page(
        self, q: AuditQuery, campuses: list[str] | None, limit: int, offset: int
    ) -> tuple[list[AuditRecord], int]:
        """Newest first across the sources; `campuses` None means every campus."""
        sources: list[Source] = [q.source] if q.source else ["audit", "members", "campuses"]
        found: list[AuditRecord] = []
        total = 0
        for source in sources:
            coll = self.db[AUDIT_LOG if source == "audit" else CHANGE_LOGS[source]]
            query = self._filter(source, q, campuses)
            total += await coll.count_documents(query)
            cursor = coll.find(query).sort([("at", -1), ("_id", -1)]).limit(offset + limit)
            found.extend([_record(source, doc) async for doc in cursor])
        found.sort(key=lambda r: (r.at, r.id), reverse=True)
        return found[offset : offset + limit], total


def _record(source: Source, doc: dict[str, Any]) -> AuditRecord:
    if source == "audit":
        return AuditRecord(
            source=source,
            id=doc["_id"],
            at=doc["at"],
            by=doc["by"],
            request=doc.get("request"),
            action=doc["action"],
            target=doc["target"],
            campus=doc["campus"],
            detail=doc.get("detail", {}),
        )
    return AuditRecord(
        source=source,
        id=doc["_id"],
        at=doc["at"],
        by=doc["by"],
        request=doc.get("request"),
        action=doc["action"],
        target=doc["aggregate"],
        campus=doc.get("state", {}).get("campus", ""),
        detail={"version": doc["version"]},
        changed=doc.get("changed", {}),
        events=[e["type"] for e in doc.get(OUTBOX, [])],
    )
