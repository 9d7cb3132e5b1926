"""The audit log: who did what to whom, when, from which request. Appended, never edited.

Changes of aggregates are audited by their change log already (`shared.aggregate`); this log
holds the admin actions that change no aggregate: revealing an ID-card number, locking and
unlocking an account, exporting a member list.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from shared.aggregate import Actor
from shared.timeutil import utcnow

AUDIT_LOG = "audit_log"


@dataclass(frozen=True)
class AuditEntry:
    at: datetime
    by: str
    request: str | None
    action: str
    target: str
    campus: str
    detail: dict[str, Any]


class AuditLog:
    def __init__(self, db: AsyncDatabase) -> None:
        self.coll = db[AUDIT_LOG]

    async def setup_indexes(self) -> None:
        await self.coll.create_index([("at", -1)])

    async def record(
        self, actor: Actor, action: str, target: str, campus: str, **detail: Any
    ) -> None:
        await self.coll.insert_one(
            {
                "_id": uuid.uuid4().hex,
                "at": utcnow(),
                "by": actor.subject,
                "request": actor.request,
                "action": action,
                "target": target,
                "campus": campus,
                "detail": detail,
            }
        )

    async def find(self, query: dict[str, Any], limit: int = 200) -> list[AuditEntry]:
        docs = await self.coll.find(query).sort("at", -1).limit(limit).to_list()
        return [
            AuditEntry(
                at=d["at"],
                by=d["by"],
                request=d.get("request"),
                action=d["action"],
                target=d["target"],
                campus=d["campus"],
                detail=d.get("detail", {}),
            )
            for d in docs
        ]
