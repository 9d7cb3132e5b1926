"""The audit log: who did what to whom, when, from which request. Appended, never edited.

Changes of aggregates are audited by their change log already (`shared.aggregate`); this log
holds the admin and security actions that are not such a change, or not only one: revealing
an ID-card number, locking and unlocking an account, setting a password, a login link. An
entry that a retry could write twice (the lock of an account, its unlock) is given a `key`:
its `_id`, so the second insert is refused and the log keeps one.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

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

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> AuditEntry:
        return cls(
            at=doc["at"],
            by=doc["by"],
            request=doc.get("request"),
            action=doc["action"],
            target=doc["target"],
            campus=doc["campus"],
            detail=doc.get("detail", {}),
        )


class AuditLog:
    def __init__(self, db: AsyncDatabase) -> None:
        self.coll = db[AUDIT_LOG]

    async def setup_indexes(self) -> None:
        await self.coll.create_index([("at", -1)])

    async def record(
        self,
        actor: Actor,
        action: str,
        target: str,
        campus: str,
        *,
        key: str | None = None,
        at: datetime | None = None,
        **detail: Any,
    ) -> bool:
        """Append one entry; False when an entry with the same `key` is already there."""
        try:
            await self.coll.insert_one(
                {
                    "_id": key or uuid.uuid4().hex,
                    "at": at or utcnow(),
                    "by": actor.subject,
                    "request": actor.request,
                    "action": action,
                    "target": target,
                    "campus": campus,
                    "detail": detail,
                }
            )
            return True
        except DuplicateKeyError:
            if key is None:
                raise
            return False

    async def find(self, query: dict[str, Any], limit: int = 200) -> list[AuditEntry]:
        docs = await self.coll.find(query).sort("at", -1).limit(limit).to_list()
        return [AuditEntry.from_doc(d) for d in docs]
