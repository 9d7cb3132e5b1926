"""The audit trail, read: the explicit audit log and the change logs of members and campuses.

Three append-only sources, one story of who did what to whom: `audit_log` (reveals, locks,
unlocks, passwords set, login links: `shared.audit`) and the change logs of the member and
campus stores (every change of a member or a campus, read through `AggregateStore`'s own
API). Nothing here writes; there is no route that could.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from pymongo.asynchronous.database import AsyncDatabase

from shared.aggregate import AggregateStore, Change, ChangeFilter, change_id
from shared.audit import AUDIT_LOG, AuditEntry

Source = Literal["audit", "members", "campuses"]
ChangeSource = Literal["members", "campuses"]


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
    def __init__(
        self, db: AsyncDatabase, changes: Mapping[ChangeSource, AggregateStore[Any]]
    ) -> None:
        self.log = db[AUDIT_LOG]
        self.changes = changes  # the stores whose change logs are part of the trail

    async def setup_indexes(self) -> None:
        for store in self.changes.values():
            await store.index_changes_by_time()

    @staticmethod
    def _filter(q: AuditQuery, campuses: list[str] | None) -> dict[str, Any]:
        query: dict[str, Any] = {}
        for key, name in (("actor", "by"), ("action", "action"), ("target", "target")):
            if getattr(q, key) is not None:
                query[name] = getattr(q, key)
        if campuses is not None:
            query["campus"] = {"$in": campuses}
        if q.campus is not None:
            query["campus"] = q.campus  # the caller may see it (checked by the route)
        at: dict[str, datetime] = {}
        if q.since is not None:
            at["$gte"] = q.since
        if q.until is not None:
            at["$lt"] = q.until
        if at:
            query["at"] = at
        return query

    @staticmethod
    def _change_filter(q: AuditQuery, campuses: list[str] | None) -> ChangeFilter:
        return ChangeFilter(
            by=q.actor,
            action=q.action,
            aggregate_id=q.target,
            campus=q.campus,  # the caller may see it (checked by the route)
            campuses=campuses,
            since=q.since,
            until=q.until,
        )

    async def page(
        self, q: AuditQuery, campuses: list[str] | None, limit: int, offset: int
    ) -> tuple[list[AuditRecord], int]:
        """Newest first across the sources; `campuses` None means every campus."""
        sources: list[Source] = [q.source] if q.source else ["audit", "members", "campuses"]
        found: list[AuditRecord] = []
        total = 0
        for source in sources:
            if source == "audit":
                query = self._filter(q, campuses)
                total += await self.log.count_documents(query)
                cursor = self.log.find(query).sort([("at", -1), ("_id", -1)]).limit(offset + limit)
                found.extend([_logged(doc) async for doc in cursor])
            else:
                store = self.changes[source]
                where = self._change_filter(q, campuses)
                total += await store.count_changes(where)
                changes = await store.recent_changes(where, offset + limit)
                found.extend(_changed(source, c) for c in changes)
        found.sort(key=lambda r: (r.at, r.id), reverse=True)
        return found[offset : offset + limit], total


def _logged(doc: dict[str, Any]) -> AuditRecord:
    return AuditRecord(source="audit", id=doc["_id"], **vars(AuditEntry.from_doc(doc)))


def _changed(source: ChangeSource, change: Change) -> AuditRecord:
    return AuditRecord(
        source=source,
        id=change_id(change.aggregate_id, change.version),
        at=change.at,
        by=change.by,
        request=change.request,
        action=change.action,
        target=change.aggregate_id,
        campus=change.campus or "",
        detail={"version": change.version},
        changed=change.changed,
        events=change.events,
    )
