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
- "the activity filled up" (`<activity>#full#<g>` in `registration_flags`): while it stands,
  new sign-ups join the waitlist and only the activity's promoter gives out seats, so a seat
  that frees goes to the first in line, never to whoever asks at that moment; the promoter
  reopens it (`<activity>#open#<g>`) when the line is empty and seats are free.
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
from shared.claims import NumberSeries, SlotPool, SlotRefused, claim_once

REGISTRATIONS = "registrations"  # the list view; `registrations_changes` is the log (the truth)
TOPIC = "events.registration"
NOT_FOUND = ("registration.not_found", "未找到该报名")
SEATS = "seats"
WAITLIST = "waitlist"
CODES = "checkin_codes"
FLAGS = "registration_flags"

FULL_RECHECK_S = 1.0  # how long "full" or "not full" read from the database is believed


async def setup_indexes(db: AsyncDatabase) -> None:
    await db[REGISTRATIONS].create_index([("activity_id", 1), ("status", 1)])
    await db[REGISTRATIONS].create_index("member_id")
    await SlotPool(db[SEATS]).setup_indexes()
    await db[SEATS].create_index([("pool", 1), ("code", 1)], unique=True)
    await db[SEATS].create_index("code")
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
        self._gen: dict[str, int] = {}
        self._full: dict[str, tuple[bool, float]] = {}  # activity -> (full, when read)
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
    #
    # Generations of two claims: `<activity>#full#<g>` closes the pool to newcomers (the g-th
    # time it filled up) and `<activity>#open#<g>` reopens it, written only by the promoter
    # when nobody is left in line and seats are free. Closed while anyone waits, so a freed
    # seat goes to the first in line; open again once the line is empty.

    async def _exists(self, key: str) -> bool:
        return await self.flags.find_one({"_id": key}, {"_id": 1}) is not None

    async def _generation(self, activity_id: str) -> int:
        """The latest generation that closed the pool (0: it never filled up)."""
        g = self._gen.get(activity_id, 0)
        while await self._exists(f"{activity_id}#full#{g + 1}"):
            g += 1
        self._gen[activity_id] = g
        return g

    async def is_full(self, activity_id: str) -> bool:
        """Whether newcomers join the waitlist (believed for a second: a burst reads it once)."""
        known = self._full.get(activity_id)
        if known is not None and time.monotonic() - known[1] < FULL_RECHECK_S:
            return known[0]
        g = await self._generation(activity_id)
        full = g > 0 and not await self._exists(f"{activity_id}#open#{g}")
        self._full[activity_id] = (full, time.monotonic())
        return full

    async def mark_full(self, activity_id: str) -> None:
        """Close the pool to newcomers (idempotent: a closed pool stays as it is)."""
        g = await self._generation(activity_id)
        if g == 0 or await self._exists(f"{activity_id}#open#{g}"):
            await claim_once(
                self.flags, f"{activity_id}#full#{g + 1}", {"activity_id": activity_id}
            )
        self._full[activity_id] = (True, time.monotonic())

    async def reopen(self, activity_id: str) -> None:
        """The line is empty and seats are free: newcomers take seats directly again."""
        g = await self._generation(activity_id)
        if g > 0:
            await claim_once(self.flags, f"{activity_id}#open#{g}", {"activity_id": activity_id})
        self._full[activity_id] = (False, time.monotonic())

    # -- seats and check-in codes -------------------------------------------------------------
    #
    # A confirmed registration's code is claimed with its first seat: the seat document
    # carries it and a unique (pool, code) index refuses a second one, so seat and code are
    # one insert. Guest seats carry `<code>+1`, `<code>+2` (unique too, never shown). Without
    # a capacity there are no seats, and the code is a claim of its own in `checkin_codes`.

    async def take_seats(
        self, activity_id: str, capacity: int, count: int, registration_id: str, token: str
    ) -> tuple[list[int], str] | None:
        """Seats for a registration and its check-in code, or None when too few are free."""
        while True:
            code = new_code()

            def each(i: int, code: str = code) -> dict[str, Any]:
                return {"code": code if i == 0 else f"{code}+{i}"}

            doc = {"registration": registration_id}
            try:
                seats = await self.seats.take(activity_id, capacity, count, token, doc, each)
            except SlotRefused:
                continue  # the code was taken (one chance in millions): another one
            return (seats, code) if seats is not None else None

    async def seat_with_code(self, activity_id: str, code: str) -> dict[str, Any] | None:
        return await self.seats.coll.find_one({"pool": activity_id, "code": code})

    async def claim_code(self, activity_id: str, registration_id: str, token: str) -> str:
        """A fresh code for a registration without seats, unique within the activity."""
        while True:
            code = new_code()
            doc = {"activity_id": activity_id, "code": code, "registration": registration_id}
            if await claim_once(self.codes, f"{activity_id}#{code}", {**doc, "token": token}):
                return code

    async def void_code(self, activity_id: str, code: str, token: str) -> None:
        """Give back a code claimed for a sign-up that did not use it (its own claim only)."""
        await self.codes.delete_one({"_id": f"{activity_id}#{code}", "token": token})

    async def find_code(self, activity_id: str, code: str) -> dict[str, Any] | None:
        """The claim (a seat, or a code of its own) that holds the code at this activity."""
        seat = await self.seat_with_code(activity_id, code)
        return seat or await self.codes.find_one({"_id": f"{activity_id}#{code}"})

    async def code_elsewhere(self, code: str) -> dict[str, Any] | None:
        """The code's registration at another activity, if it is one (for a clear refusal)."""
        return await self.seats.coll.find_one({"code": code}) or await self.codes.find_one(
            {"code": code}
        )
