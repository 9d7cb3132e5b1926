"""Registrations' MongoDB access: the aggregate, and the claims its invariants rest on.

Every invariant is a unique-key insert, never a counter (FerretDB does not make updates
atomic):

- one registration per member and activity: the registration's id is derived from both, so
  its first change `<activity>.<member>#0000000001` can be inserted once;
- capacity: a seat is the document `<activity>#000007` in `seats` (`SlotPool`); a
  registration with g family guests holds 1 + g of them, so confirmed seats never exceed the
  capacity;
- waitlist order: a place is `<activity>#000000031` in `waitlist` (`NumberSeries`): numbers
  claimed in order, each once, none skipped — the FIFO order promotion follows;
- check-in codes: `<activity>#K7M2QX` in `checkin_codes`, so a code means one registration;
- "the activity filled up" (`<activity>#full` in `registration_flags`): from then on new
  sign-ups join the waitlist and only the activity's promoter gives out seats, so a seat that
  frees goes to the first in line, never to whoever asks at that moment.
"""

from __future__ import annotations

import time
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from services.events.registrations.domain import (
    Registration,
    RegistrationStatus,
    new_code,
)
from shared.aggregate import AggregateStore, change_id
from shared.claims import NumberSeries, SlotPool, claim_once

REGISTRATIONS = "registrations"  # the list view; `registrations_changes` is the log (the truth)
TOPIC = "events.registration"
NOT_FOUND = ("registration.not_found", "未找到该报名")
SEATS = "seats"
WAITLIST = "waitlist"
CODES = "checkin_codes"
FLAGS = "registration_flags"

FULL_RECHECK_S = 1.0  # how long "not full" read from the database is believed


async def setup_indexes(db: AsyncDatabase) -> None:
    await db[REGISTRATIONS].create_index([("activity_id", 1), ("status", 1)])
    await db[REGISTRATIONS].create_index("member_id")
    await SlotPool(db[SEATS]).setup_indexes()
    await db[CODES].create_index("code")


class RegistrationBook:
    """Registrations and their claims, as the use cases need them."""

    def __init__(self, store: AggregateStore[Registration]) -> None:
        db = store.db
        self.store = store
        self.seats = SlotPool(db[SEATS])
        self.waitlist = NumberSeries(db[WAITLIST])
        self.codes = db[CODES]
        self.flags = db[FLAGS]
        self._full: set[str] = set()
        self._not_full_at: dict[str, float] = {}
        self.heads: dict[str, int] = {}  # the promoter's place in each waitlist

    # -- reading ------------------------------------------------------------------------------

    async def get(self, registration_id: str) -> Registration | None:
        return await self.store.get(registration_id)

    async def at_version(self, registration_id: str, version: int) -> Registration | None:
        """The registration as one change left it (a cancelled round's seats, say)."""
        doc = await self.store.log.find_one({"_id": change_id(registration_id, version)})
        if doc is None:
            return None
        return self.store._load(registration_id, doc["state"], version)

    async def of_member(self, member_id: str) -> list[Registration]:
        return await self.store.find(
            {"member_id": member_id}, sort=[("registered_at", -1)], limit=500
        )

    async def of_activity(
        self, activity_id: str, status: RegistrationStatus | None, limit: int, offset: int
    ) -> tuple[list[Registration], int]:
        query: dict[str, Any] = {"activity_id": activity_id}
        if status is not None:
            query["status"] = status.value
        sort = [("waitlist_no", 1), ("registered_at", 1), ("_id", 1)]
        items = await self.store.find(query, sort=sort, skip=offset, limit=limit)
        return items, await self.store.count(query)

    async def all_of_activity(self, activity_id: str) -> list[Registration]:
        return await self.store.find(
            {"activity_id": activity_id}, sort=[("registered_at", 1)], limit=100_000
        )

    async def active_of_activity(self, activity_id: str) -> list[Registration]:
        found = await self.store.find({"activity_id": activity_id}, limit=100_000)
        return [r for r in found if r.active]

    async def place_in_line(self, registration: Registration) -> int | None:
        """Where a waiting registration stands now (1 = next), from the list view."""
        if registration.status is not RegistrationStatus.waitlisted:
            return None
        ahead = await self.store.count(
            {
                "activity_id": registration.activity_id,
                "status": RegistrationStatus.waitlisted.value,
                "waitlist_no": {"$lt": registration.waitlist_no},
            }
        )
        return ahead + 1

    # -- "the activity filled up" -------------------------------------------------------------

    async def is_full(self, activity_id: str) -> bool:
        if activity_id in self._full:
            return True
        checked = self._not_full_at.get(activity_id)
        if checked is not None and time.monotonic() - checked < FULL_RECHECK_S:
            return False
        if await self.flags.find_one({"_id": f"{activity_id}#full"}, {"_id": 1}):
            self._full.add(activity_id)
            return True
        self._not_full_at[activity_id] = time.monotonic()
        return False

    async def mark_full(self, activity_id: str) -> None:
        await claim_once(self.flags, f"{activity_id}#full", {"activity_id": activity_id})
        self._full.add(activity_id)

    # -- check-in codes -----------------------------------------------------------------------

    async def claim_code(self, activity_id: str, registration_id: str, token: str) -> str:
        """A fresh code for the registration, unique within the activity."""
        while True:
            code = new_code()
            doc = {"activity_id": activity_id, "code": code, "registration": registration_id}
            if await claim_once(self.codes, f"{activity_id}#{code}", {**doc, "token": token}):
                return code

    async def void_code(self, activity_id: str, code: str, token: str) -> None:
        """Give back a code claimed for a sign-up that did not use it (its own claim only)."""
        await self.codes.delete_one({"_id": f"{activity_id}#{code}", "token": token})

    async def find_code(self, activity_id: str, code: str) -> dict[str, Any] | None:
        return await self.codes.find_one({"_id": f"{activity_id}#{code}"})

    async def code_elsewhere(self, code: str) -> dict[str, Any] | None:
        """The code's registration at another activity, if it is one (for a clear refusal)."""
        return await self.codes.find_one({"code": code})
