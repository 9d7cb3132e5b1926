"""Notify's MongoDB access: the in-app inbox and e-mail delivery records.

A notice's e-mail can be triggered twice at once — by the event that created the notice, and
by the contact details arriving on their own topic a moment later, handled by another
partition's task — so sending is claimed first (a unique-key insert whose holder is the
triggering event: only that event's handler sends, and sends again on its own retries), and
a sent e-mail is recorded by another insert. Nothing here is updated.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.notify.notices.domain import Notice
from shared.timeutil import utcnow

INBOX = "inbox"
DELIVERIES = "deliveries"


async def setup_indexes(db: AsyncDatabase) -> None:
    await db[INBOX].create_index([("member_id", 1), ("created_at", -1)])
    await db[INBOX].create_index([("member_id", 1), ("kind", 1)])


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

    async def mark_read(self, member_id: str, notice_id: str) -> dict[str, Any] | None:
        """Mark one of the member's notices read; None when they have no such notice.

        A plain update: "read" is a flag the member alone sets, idempotent, with no rule
        that two writers could break (the first time read is kept)."""
        doc = await self.coll.find_one({"_id": notice_id, "member_id": member_id})
        if doc is None:
            return None
        if doc.get("read_at") is None:
            doc["read_at"] = utcnow()
            await self.coll.update_one(
                {"_id": notice_id, "member_id": member_id, "read_at": None},
                {"$set": {"read_at": doc["read_at"]}},
            )
        return doc

    async def latest(self, member_id: str, kind: str, since: datetime) -> Notice | None:
        """The member's newest notice of a kind created since `since`, if any."""
        docs = await self.coll.find({"member_id": member_id, "kind": kind}).to_list()
        docs = [d for d in docs if d["created_at"] >= since]
        if not docs:
            return None
        doc = max(docs, key=lambda d: d["created_at"])
        return Notice(
            id=doc["_id"],
            member_id=member_id,
            campus=doc["campus"],
            kind=kind,
            title=doc["title"],
            body=doc["body"],
        )

    async def claim_email(self, notice: Notice, holder: str) -> bool:
        """True when `holder` (an event id) is the one to send this notice's e-mail."""
        key = f"{notice.id}:email"
        if await self.deliveries.find_one({"_id": f"{key}:sent"}, {"_id": 1}):
            return False
        try:
            await self.deliveries.insert_one({"_id": key, "holder": holder, "at": utcnow()})
            return True
        except DuplicateKeyError:
            claim = await self.deliveries.find_one({"_id": key})
            return bool(claim and claim["holder"] == holder)  # our own retry

    async def record_sent(self, notice: Notice, to: str) -> None:
        try:
            await self.deliveries.insert_one(
                {"_id": f"{notice.id}:email:sent", "status": "sent", "to": to, "at": utcnow()}
            )
        except DuplicateKeyError:
            pass
