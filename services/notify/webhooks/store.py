"""Webhook deliveries and their attempts (the delivery log) in MongoDB.

One delivery per (subscription, event id): its `_id` is that pair, so a redelivered or
replayed event inserts nothing new. Each try of a delivery is claimed by inserting its attempt
record `<delivery>#<n>` (unique): with two notify replicas only one posts try n. The claim's
holder is then the only writer of that attempt record and of the delivery's progress fields,
so the plain updates below have no concurrent writer to race. Nothing holds the secret.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.notify.webhooks.domain import AttemptOutcome, DeliveryStatus
from shared.timeutil import utcnow

DELIVERIES = "webhook_deliveries"
ATTEMPTS = "webhook_attempts"
WAITING = [DeliveryStatus.pending.value, DeliveryStatus.retrying.value]


def delivery_id(subscription_id: str, event_id: str) -> str:
    return f"{subscription_id}:{event_id}"


async def setup_indexes(db: AsyncDatabase) -> None:
    await db[DELIVERIES].create_index([("status", 1), ("next_at", 1)])
    await db[DELIVERIES].create_index([("subscription", 1), ("created_at", -1)])
    await db[ATTEMPTS].create_index([("subscription", 1), ("started_at", -1)])


class Deliveries:
    def __init__(self, db: AsyncDatabase) -> None:
        self.coll = db[DELIVERIES]
        self.attempts = db[ATTEMPTS]

    async def enqueue(
        self, subscription_id: str, event_id: str, event_type: str, body: str
    ) -> bool:
        """One delivery per (subscription, event); False when it was there already."""
        now = utcnow()
        try:
            await self.coll.insert_one(
                {
                    "_id": delivery_id(subscription_id, event_id),
                    "subscription": subscription_id,
                    "event_id": event_id,
                    "event_type": event_type,
                    "body": body,
                    "status": DeliveryStatus.pending.value,
                    "attempts": 0,
                    "next_at": now,
                    "created_at": now,
                    "last_code": None,
                    "last_at": None,
                }
            )
            return True
        except DuplicateKeyError:
            return False

    async def due(
        self, now: datetime, limit: int, skip_subscriptions: list[str]
    ) -> list[dict[str, Any]]:
        query: dict[str, Any] = {"status": {"$in": WAITING}, "next_at": {"$lte": now}}
        if skip_subscriptions:
            query["subscription"] = {"$nin": skip_subscriptions}
        cursor = self.coll.find(query)
        return await cursor.sort("next_at", 1).limit(limit).to_list()

    async def get(self, subscription_id: str, id: str) -> dict[str, Any] | None:
        return await self.coll.find_one({"_id": id, "subscription": subscription_id})

    async def of_subscription(self, subscription_id: str, limit: int) -> list[dict[str, Any]]:
        cursor = self.coll.find({"subscription": subscription_id}, {"body": 0})
        return await cursor.sort("created_at", -1).limit(limit).to_list()

    async def log(self, subscription_id: str, limit: int) -> list[dict[str, Any]]:
        cursor = self.attempts.find({"subscription": subscription_id})
        return await cursor.sort("started_at", -1).limit(limit).to_list()

    # -- one try --------------------------------------------------------------------------------

    async def claim(self, delivery: dict[str, Any], holder: str, lease_s: float) -> int | None:
        """The attempt number this worker won for the delivery, or None (another has it)."""
        n = delivery["attempts"] + 1
        now = utcnow()
        try:
            await self.attempts.insert_one(
                {
                    "_id": f"{delivery['_id']}#{n}",
                    "delivery": delivery["_id"],
                    "subscription": delivery["subscription"],
                    "event_id": delivery["event_id"],
                    "event_type": delivery["event_type"],
                    "attempt": n,
                    "holder": holder,
                    "started_at": now,
                    "lease_until": now + timedelta(seconds=lease_s),
                    "outcome": AttemptOutcome.sending.value,
                }
            )
            return n
        except DuplicateKeyError:
            held = await self.attempts.find_one({"_id": f"{delivery['_id']}#{n}"})
        if held and held["outcome"] == AttemptOutcome.sending.value and held["lease_until"] < now:
            # Its holder died mid-try: that try counts as failed, the next one is free to win.
            await self.attempts.update_one(
                {"_id": held["_id"]},
                {"$set": {"outcome": AttemptOutcome.failed.value, "error": "未完成（进程中断）"}},
            )
            await self.coll.update_one({"_id": delivery["_id"]}, {"$set": {"attempts": n}})
        return None

    async def finish(
        self,
        delivery: dict[str, Any],
        attempt: int,
        *,
        ok: bool,
        code: int | None,
        error: str | None,
        duration_ms: int,
        status: DeliveryStatus,
        retry_at: datetime | None,
    ) -> None:
        now = utcnow()
        outcome = AttemptOutcome.ok if ok else AttemptOutcome.failed
        await self.attempts.update_one(
            {"_id": f"{delivery['_id']}#{attempt}"},
            {
                "$set": {
                    "outcome": outcome.value,
                    "code": code,
                    "error": error,
                    "duration_ms": duration_ms,
                    "finished_at": now,
                    "retry_at": retry_at,
                }
            },
        )
        await self.coll.update_one(
            {"_id": delivery["_id"]},
            {
                "$set": {
                    "attempts": attempt,
                    "status": status.value,
                    "next_at": retry_at or now,
                    "last_code": code,
                    "last_at": now,
                }
            },
        )

    async def redeliver(self, delivery: dict[str, Any]) -> dict[str, Any]:
        """Send it again at the next tick (try numbers go on: the log keeps every try)."""
        fields = {"status": DeliveryStatus.pending.value, "next_at": utcnow()}
        await self.coll.update_one({"_id": delivery["_id"]}, {"$set": fields})
        return {**delivery, **fields}

    async def recent_outcomes(self, subscription_id: str, since: datetime, n: int) -> list[str]:
        """Outcomes of the subscription's last `n` finished tries since `since`, newest first."""
        cursor = self.attempts.find(
            {"subscription": subscription_id, "outcome": {"$ne": AttemptOutcome.sending.value}}
        )
        docs = await cursor.sort("started_at", -1).limit(n).to_list()
        return [d["outcome"] for d in docs if d["started_at"] >= since]
