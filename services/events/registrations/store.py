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
- "someone is waiting": the waitlist place where the line was last seen empty is claimed.
  While anyone waits, new sign-ups join the line and only the activity's promoter gives out
  seats, so a seat that frees goes to the first in line, never to whoever asks at that
  moment (`nobody_waits`).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from services.events.registrations.domain import (
    Registration,
    RegistrationStatus,
    new_code,
)
from shared.aggregate import AggregateStore
from shared.claims import NumberSeries, SlotPool, SlotRefused, claim_once

REGISTRATIONS = "registrations"  # the list view; `registrations_changes` is the log (the truth)
TOPIC = "events.registration"
NOT_FOUND = ("registration.not_found", "未找到该报名")
SEATS = "seats"
WAITLIST = "waitlist"
CODES = "checkin_codes"
FLAGS = "registration_flags"

OPEN_RECHECK_S = 1.0  # how long "nobody waits", read from the database, is believed


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
        self._open: dict[str, tuple[int, int]] = {}  # activity -> (reopening, place)
        self._open_checked: dict[str, tuple[bool, float]] = {}  # (line empty, when read)
        self.heads: dict[str, int] = {}  # the promoter's place in each waitlist
        self._promoters: dict[str, asyncio.Lock] = {}

    def promoting(self, activity_id: str) -> asyncio.Lock:
        """Held while this process promotes an activity's waitlist."""
        return self._promoters.setdefault(activity_id, asyncio.Lock())

    # -- reading ------------------------------------------------------------------------------

    async def get(self, registration_id: str) -> Registration | None:
        return await self.store.get(registration_id)

    async def at_version(self, registration_id: str, version: int) -> Registration | None:
        """The registration as one change left it (a cancelled round's seats, say)."""
        return await self.store.at_version(registration_id, version)

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

    # -- is anyone waiting? ----------------------------------------------------------------
    #
    # Newcomers take seats directly only while nobody waits; otherwise they join the line and
    # the promoter gives seats out in order. "Nobody waits" is not a flag anyone sets: the
    # line was seen empty at place h (`<activity>#reopen#<g>`, position h; at first h = 1),
    # and it stays empty exactly as long as place h is unclaimed. A newcomer who joins the
    # line claims place h (or later) and so closes it by that very insert; the promoter,
    # finding the line empty again at a later place, reopens it there. Within this process
    # that is exact (the series hands out numbers here); another replica's newcomer is seen
    # within `OPEN_RECHECK_S` (one read of place h).

    async def _opened_at(self, activity_id: str) -> int:
        """The place where the line was last seen empty (new reopenings are read here)."""
        g, place = self._open.get(activity_id, (0, 1))
        while True:
            doc = await self.flags.find_one({"_id": f"{activity_id}#reopen#{g + 1}"})
            if doc is None:
                break
            g, place = g + 1, doc["position"]
        self._open[activity_id] = (g, place)
        return place

    async def nobody_waits(self, activity_id: str) -> bool:
        """Whether a newcomer may take a free seat directly (nobody is in line)."""
        known = self._open.get(activity_id, (0, 1))[1]
        if self.waitlist.handed_out(activity_id) >= known:
            return False  # someone here took a place in line since it was seen empty
        checked = self._open_checked.get(activity_id)
        if checked is not None and time.monotonic() - checked[1] < OPEN_RECHECK_S:
            return checked[0]
        place = await self._opened_at(activity_id)
        empty = await self.waitlist.get(activity_id, place) is None
        self._open_checked[activity_id] = (empty, time.monotonic())
        return empty and self.waitlist.handed_out(activity_id) < place

    async def reopen(self, activity_id: str, place: int) -> None:
        """The promoter found the line empty at `place` with seats free: newcomers may take
        seats directly again, until someone claims that place."""
        current = await self._opened_at(activity_id)
        if place <= current:
            return
        g = self._open[activity_id][0]
        doc = {"activity_id": activity_id, "position": place}
        await claim_once(self.flags, f"{activity_id}#reopen#{g + 1}", doc)
        await self._opened_at(activity_id)  # ours, or a concurrent promoter's
        self._open_checked.pop(activity_id, None)

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
