"""Member lists a cadre uploaded, kept between the check and the commit.

The cadre checks a file first (a dry run at members) and commits it after reading the
report, without choosing the file again, so web keeps it meanwhile — sealed with web's key
(bound to the import it belongs to: the file carries ID numbers and salaries), and never
longer than needed: taken (and deleted) by the commit, or deleted by the sweep after
`keep_s` (a check nobody commits). FerretDB 1.x has no TTL indexes ("expireAfterSeconds is
not implemented"), hence the sweep. Too large a file is refused here, before it is sent on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bson import Binary
from pymongo.asynchronous.database import AsyncDatabase

from shared.crypto import PREFIX, Sealer, SealError
from shared.timeutil import utcnow

UPLOADS = "uploads"


@dataclass(frozen=True)
class Upload:
    name: str
    type: str | None
    content: bytes


class Uploads:
    def __init__(self, db: AsyncDatabase, sealer: Sealer, max_bytes: int, keep_s: int) -> None:
        self.coll = db[UPLOADS]
        self.sealer = sealer
        self.max_bytes = max_bytes
        self.keep = timedelta(seconds=keep_s)

    async def keep_for_commit(self, import_id: str, by: str, upload: Upload) -> None:
        sealed = self.sealer.seal_bytes(upload.content, UPLOADS, import_id, by)
        await self.coll.insert_one(
            {
                "_id": import_id,
                "by": by,
                "name": upload.name,
                "type": upload.type,
                "content": Binary(sealed),
                "at": utcnow(),
            }
        )

    async def waiting(self, import_id: str, by: str) -> bool:
        return await self.coll.find_one({"_id": import_id, "by": by}, {"_id": 1}) is not None

    async def get(self, import_id: str, by: str) -> Upload | None:
        doc = await self.coll.find_one({"_id": import_id, "by": by})
        if doc is None or _aware(doc["at"]) < utcnow() - self.keep:
            return None
        try:
            content = self.sealer.open_bytes(bytes(doc["content"]), UPLOADS, import_id, by)
        except SealError:
            return None  # kept in clear by an older web, or under another key: check again
        return Upload(doc["name"], doc.get("type"), content)

    async def drop(self, import_id: str) -> None:
        await self.coll.delete_one({"_id": import_id})

    async def sweep(self) -> int:
        """Delete what waited longer than `keep`."""
        done = await self.coll.delete_many({"at": {"$lt": utcnow() - self.keep}})
        return done.deleted_count

    async def drop_clear(self) -> int:
        """Delete the files an older web kept in clear (once, at start): the cadre checks the
        file again, which is cheaper than keeping ID numbers in clear until the sweep."""
        head = PREFIX.encode()
        clear = [
            doc["_id"]
            async for doc in self.coll.find({}, {"content": 1})
            if not bytes(doc["content"]).startswith(head)
        ]
        if clear:
            await self.coll.delete_many({"_id": {"$in": clear}})
        return len(clear)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
