"""Delivery records: created by a unique-key insert, attempted under a claimed attempt number.

- `add_many` inserts each delivery once (`_id` = event id, recipient, channel): a redelivered
  or replayed event inserts nothing new, so nothing is sent twice.
- Each attempt is claimed first (`delivery_attempts`, `_id` = `<delivery>#<n>`, with a lease):
  of two workers (two notify replicas) only the claimant sends; a worker that died mid-send
  leaves a claim whose lease runs out, and attempt n+1 is claimed then.
- An attempt put off by the member's quiet hours (`put_off`) is given back: its number is
  claimed again when the delivery is due, so waiting counts as no try.
- Only the attempt's claimant writes the outcome onto the delivery (status, counts, reason),
  so these updates have no concurrent writer (FerretDB updates are not atomic).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from prometheus_client import Counter
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError

from services.notify.delivery.domain import DeliveryStatus
from shared.mongo import update_by_ids
from shared.timeutil import utcnow

DELIVERIES = "deliveries"
ATTEMPTS = "delivery_attempts"

# Bounded labels: four channels × five statuses.
DELIVERY_STATUS = Counter(
    "gonghui_notify_deliveries_total",
    "deliveries entering a status (queued, sent, failed, read, skipped) per channel",
    ["channel", "status"],
)


class Deliveries:
    def __init__(self, db: AsyncDatabase) -> None:
        self.coll = db[DELIVERIES]
        self.attempts = db[ATTEMPTS]

    async def setup_indexes(self) -> None:
        await self.coll.create_index([("status", 1), ("next_at", 1)])
        await self.coll.create_index([("campus", 1), ("status", 1)])
        await self.coll.create_index([("member_id", 1), ("event_type", 1)])

    async def add_many(self, docs: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
        """Insert the deliveries not there yet; the ones this call inserted."""
        if not docs:
            return []
        try:
            await self.coll.insert_many(list(docs), ordered=False)
            inserted = list(docs)
        except BulkWriteError as exc:
            errors = exc.details.get("writeErrors", [])
            if any(e.get("code") != 11000 for e in errors):
                raise
            dup = {e["index"] for e in errors}
            inserted = [d for i, d in enumerate(docs) if i not in dup]
        for doc in inserted:
            DELIVERY_STATUS.labels(doc["channel"], doc["status"]).inc()
        return inserted

    async def get(self, delivery_id: str) -> dict[str, Any] | None:
        return await self.coll.find_one({"_id": delivery_id})

    async def due(self, now: datetime, limit: int) -> list[dict[str, Any]]:
        query = {"status": DeliveryStatus.queued.value, "next_at": {"$lte": now}}
        return await self.coll.find(query).sort("next_at", 1).limit(limit).to_list()

    async def claim(self, doc: Mapping[str, Any], now: datetime, lease_s: float) -> int | None:
        """The attempt number this worker won for the delivery, or None (another has it)."""
        attempt = int(doc.get("tries", 0)) + 1
        while True:
            key = f"{doc['_id']}#{attempt}"
            lease = {"lease_until": now + timedelta(seconds=lease_s), "at": now}
            try:
                await self.attempts.insert_one({"_id": key, **lease})
                return attempt
            except DuplicateKeyError:
                held = await self.attempts.find_one({"_id": key})
                if held is None or held["lease_until"] > now:
                    return None
                attempt += 1  # its claimant died mid-send: the next number is free to win

    async def record(self, doc: Mapping[str, Any], status: DeliveryStatus, **fields: Any) -> None:
        """The claimant writes its attempt's outcome."""
        await self.coll.update_one(
            {"_id": doc["_id"]}, {"$set": {"status": status.value, **fields}}
        )
        if status.value != doc.get("status"):
            DELIVERY_STATUS.labels(doc["channel"], status.value).inc()

    async def put_off(self, doc: Mapping[str, Any], attempt: int, until: datetime) -> None:
        """The claimant of `attempt` does not send (the member's quiet hours): the delivery
        waits until `until`, and the attempt is given back, so it counts as no try and its
        number is claimed again then. The wait is written before the claim goes: a worker that
        wins the number afterwards finds it, and nothing written after its own outcome."""
        await self.coll.update_one({"_id": doc["_id"]}, {"$set": {"next_at": until}})
        await self.attempts.delete_one({"_id": f"{doc['_id']}#{attempt}"})

    async def mark_read(self, notice_ids: Sequence[str]) -> None:
        """The inbox deliveries of messages their owner has read."""
        if not notice_ids:
            return
        ids = [f"{n}:inbox" for n in notice_ids]
        changed = await update_by_ids(
            self.coll,
            ids,
            {"$set": {"status": DeliveryStatus.read.value, "read_at": utcnow()}},
            where={"status": DeliveryStatus.sent.value},
        )
        if changed:
            DELIVERY_STATUS.labels("inbox", "read").inc(changed)

    async def listing(
        self, query: Mapping[str, Any], limit: int, offset: int
    ) -> list[dict[str, Any]]:
        cursor = self.coll.find(dict(query)).sort("created_at", -1).skip(offset).limit(limit)
        return await cursor.to_list()

    async def counts(self, query: Mapping[str, Any]) -> dict[tuple[str, str], int]:
        found: dict[tuple[str, str], int] = {}
        for doc in await self.coll.find(dict(query), {"channel": 1, "status": 1}).to_list():
            key = (doc["channel"], doc["status"])
            found[key] = found.get(key, 0) + 1
        return found

    async def recent(self, member_id: str, event_type: str, since: datetime) -> list[dict]:
        query = {"member_id": member_id, "event_type": event_type, "channel": "inbox"}
        docs = await self.coll.find(query).to_list()
        return [d for d in docs if d["created_at"] >= since]
