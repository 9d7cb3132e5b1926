"""The in-app inbox (站内信): one document per message, its owner alone reads and marks it."""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError

from services.notify.notices.domain import Notice
from shared.timeutil import utcnow

INBOX = "inbox"


class Inbox:
    def __init__(self, db: AsyncDatabase) -> None:
        self.coll = db[INBOX]

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

    async def put_many(self, notices: list[Notice]) -> int:
        """Store each notice once (a notice fan-out's batch); how many were new."""
        if not notices:
            return 0
        now = utcnow()
        docs = [
            {
                "_id": n.id,
                "member_id": n.member_id,
                "campus": n.campus,
                "kind": n.kind,
                "title": n.title,
                "body": n.body,
                "created_at": now,
                "read_at": None,
            }
            for n in notices
        ]
        try:
            await self.coll.insert_many(docs, ordered=False)
            return len(docs)
        except BulkWriteError as exc:
            errors = exc.details.get("writeErrors", [])
            if any(e.get("code") != 11000 for e in errors):
                raise
            return len(docs) - len(errors)

    async def for_member(
        self, member_id: str, limit: int, offset: int = 0, unread_first: bool = False
    ) -> list[dict[str, Any]]:
        """A page of the member's messages, newest first (unread ones first when asked)."""
        if not unread_first:
            cursor = self.coll.find({"member_id": member_id}).sort("created_at", -1)
            return await cursor.skip(offset).limit(limit).to_list()
        unread = {"member_id": member_id, "read_at": None}
        unread_count = await self.coll.count_documents(unread)
        page: list[dict[str, Any]] = []
        if offset < unread_count:
            cursor = self.coll.find(unread).sort("created_at", -1).skip(offset).limit(limit)
            page = await cursor.to_list()
        rest = limit - len(page)
        if rest > 0:
            skip = max(0, offset - unread_count)
            read = {"member_id": member_id, "read_at": {"$ne": None}}
            cursor = self.coll.find(read).sort("created_at", -1).skip(skip).limit(rest)
            page += await cursor.to_list()
        return page

    async def unread_count(self, member_id: str) -> int:
        return await self.coll.count_documents({"member_id": member_id, "read_at": None})

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

    async def mark_all_read(self, member_id: str) -> list[str]:
        """Mark every unread message of the member read; the ids that were unread."""
        ids = [
            d["_id"]
            for d in await self.coll.find(
                {"member_id": member_id, "read_at": None}, {"_id": 1}
            ).to_list()
        ]
        if ids:
            # One update: FerretDB hands the member's equality to PostgreSQL (an index), so
            # the `$in` only filters that member's messages.
            await self.coll.update_many(
                {"_id": {"$in": ids}, "member_id": member_id, "read_at": None},
                {"$set": {"read_at": utcnow()}},
            )
        return ids
