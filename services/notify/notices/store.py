"""Notify's MongoDB access: the in-app inbox and e-mail delivery records."""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.notify.notices.domain import Notice
from shared.timeutil import utcnow

INBOX = "inbox"
DELIVERIES = "deliveries"


async def setup_indexes(db: AsyncDatabase) -> None:
    await db[INBOX].create_index([("member_id", 1), ("created_at", -1)])


class Inbox:
    def __init__(self, db: AsyncDatabase) -> None:
        self.coll = db[INBOX]
        self.deliveries = db[DELIVERIES]

    async def put(self, notice: Notice) -> bool:
        """Store the notice once; False when it was already there."""
        try:
            await self.coll.insert_one(
                {
                    "_id": notice.id,
                    "member_id": notice.member_id,
                    "campus": notice.campus,
                    "kind": notice.kind,
                    "title": notice.title,
                    "body": notice.body,
                    "created_at": utcnow(),
                    "read_at": None,
                }
            )
            return True
        except DuplicateKeyError:
            return False

    async def for_member(self, member_id: str, limit: int) -> list[dict[str, Any]]:
        cursor = self.coll.find({"member_id": member_id}).sort("created_at", -1).limit(limit)
        return await cursor.to_list()

    async def email_already_sent(self, notice: Notice) -> bool:
        doc = await self.deliveries.find_one({"_id": f"{notice.id}:email"})
        return bool(doc and doc["status"] == "sent")

    async def record_email(self, notice: Notice, status: str, error: str | None = None) -> None:
        await self.deliveries.update_one(
            {"_id": f"{notice.id}:email"},
            {"$set": {"status": status, "error": error, "to": notice.email, "at": utcnow()}},
            upsert=True,
        )
