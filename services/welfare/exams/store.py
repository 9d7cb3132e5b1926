"""Where the exam plans, the bookings and the seats live.

A slot's capacity is the pool of numbered seats `exam_seats` (`<plan>:<slot>#000001` …): a
seat is a document under a unique `_id`, so a slot can never hold more bookings than its
capacity, whatever runs at once anywhere (FerretDB updates are not atomic; this insert is).
A seat is given back only by the change that moved its booking away from it (cancel or move:
one change wins the booking's next version), and only its own: the delete names the token of
the take that won it, and `exam_seat_releases` lets that token be given back once.

A reminder to those who have not booked is one document `exam_reminders` per plan and Beijing
day (`<plan>@<day>`): its insert carries the event, so of any number of presses, at once or
one after the other, exactly one publishes it that day.
"""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.welfare.exams.domain import ExamBooking, ExamPlan
from shared.aggregate import AggregateStore
from shared.claims import SlotPool, claim_once
from shared.events.welfare_exams import ExamBookingReminderRequested
from shared.outbox.writer import Outbox
from shared.timeutil import utcnow_ms

SEATS = "exam_seats"
RELEASES = "exam_seat_releases"
REMINDERS = "exam_reminders"
TOPIC = "welfare.exam"


async def setup_indexes(db: AsyncDatabase) -> None:
    await db[SEATS].create_index("pool")
    await db[SEATS].create_index("plan")
    await db["exam_bookings"].create_index([("plan_id", 1), ("status", 1)])


def pool_of(plan_id: str, slot: str) -> str:
    return f"{plan_id}:{slot}"


class ExamBook:
    def __init__(self, db: AsyncDatabase, outbox: Outbox) -> None:
        self.plans: AggregateStore[ExamPlan] = AggregateStore(
            db,
            outbox,
            ExamPlan,
            name="exam_plans",
            topic="welfare.exam_plan",
            not_found=("exam.plan_not_found", "该年度体检方案不存在"),
        )
        self.bookings: AggregateStore[ExamBooking] = AggregateStore(
            db,
            outbox,
            ExamBooking,
            name="exam_bookings",
            topic=TOPIC,
            not_found=("exam.booking_not_found", "未找到该体检预约"),
        )
        self.seats = SlotPool(db[SEATS])
        self.releases = db[RELEASES]
        self.reminders = db[REMINDERS]
        self.outbox = outbox

    async def take_seat(
        self, plan_id: str, slot: str, capacity: int, token: str, booking: str
    ) -> int | None:
        """A free seat of the slot, or None when it is full (read again if the picture of the
        pool is over a second old: a seat freed by another replica is then seen)."""
        pool = pool_of(plan_id, slot)
        doc = {"booking": booking, "plan": plan_id, "slot": slot}
        won = await self.seats.take(pool, capacity, 1, token, doc)
        if won is None and self.seats.age(pool) > 1.0:
            await self.seats.refresh(pool)
            won = await self.seats.take(pool, capacity, 1, token, doc)
        return won[0] if won else None

    async def seen_full(self, plan_id: str, slot: str, capacity: int) -> bool:
        """This process saw the slot full less than a second ago (no I/O when it did; a seat
        freed elsewhere is seen after the next read, as `take_seat` reads a stale pool)."""
        pool = pool_of(plan_id, slot)
        return self.seats.age(pool) < 1.0 and await self.seats.free(pool, capacity) == 0

    async def give_back(self, pool: str, seat: int, token: str) -> None:
        """Free the seat `token` won, once however often it is asked."""
        if await claim_once(self.releases, f"{pool}#{seat}:{token}"):
            await self.seats.release(pool, [seat], token)

    async def taken(self, plan_id: str) -> dict[str, int]:
        """Seats taken per slot code (the seats themselves: the truth, not a counter)."""
        counts: dict[str, int] = {}
        async for doc in self.seats.coll.find({"plan": plan_id}, {"slot": 1}):
            counts[doc["slot"]] = counts.get(doc["slot"], 0) + 1
        return counts

    async def of_members(self, plan_id: str, member_ids: list[str]) -> dict[str, ExamBooking]:
        """The members' bookings of the plan by member id, current (two queries)."""
        found = await self.bookings.get_many([f"{plan_id}:{m}" for m in member_ids])
        return {b.member_id: b for b in found.values()}

    async def booked_in(self, plan_id: str) -> set[str]:
        """Slot codes holding a seat: they may not be removed from the plan or moved."""
        return set(await self.taken(plan_id))

    async def reminder(self, reminder_id: str) -> dict[str, Any] | None:
        """The reminder of a plan and day, if one was made."""
        return await self.reminders.find_one({"_id": reminder_id}, {"outbox": 0})

    async def remind(
        self, reminder_id: str, event: ExamBookingReminderRequested, by: str
    ) -> tuple[dict[str, Any], bool]:
        """Publish the reminder once under `reminder_id`: (the reminder, True) for the one
        call whose insert won; (the one made before, False) for every other."""
        doc = {
            "_id": reminder_id,
            "plan_id": event.plan_id,
            "campus": event.campus,
            "day": event.requested_on.isoformat(),
            "members": len(event.member_ids),
            "by": by,
            "at": utcnow_ms(),
        }
        try:
            await self.outbox.insert(
                REMINDERS, doc, [event], subject=event.plan_id, campus=event.campus
            )
        except DuplicateKeyError:
            found = await self.reminder(reminder_id)
            assert found is not None  # the key that refused this insert is there
            return found, False
        return doc, True
