"""The sports meet's MongoDB access: the meet aggregate, and the entries as claimed slots.

"A member enters at most N items" rests on unique-key inserts, never on a count: a member's
entries in one meet are the slots `<activity>:<member>#000001` … `#00000N` of a pool of size
N in `meet_entries` (`shared.claims.take_slot`), held by the item's id; the unique index
(pool, holder) makes each item one slot of the member's. However many entries race, at most
N slots exist, and an item entered twice is one entry.
"""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from services.events.sports.domain import SportsMeet
from shared.aggregate import AggregateStore
from shared.claims import release_slot, setup_slot_indexes, take_slot
from shared.timeutil import utcnow_ms as utcnow

MEETS = "meets"  # the list view; `meets_changes` is the change log (the truth)
TOPIC = "events.sports"
NOT_FOUND = ("meet.not_found", "该活动还没有设置运动会项目")
ENTRIES = "meet_entries"


async def setup_indexes(db: AsyncDatabase) -> None:
    await setup_slot_indexes(db[ENTRIES])
    await db[ENTRIES].create_index([("meet", 1), ("item", 1)])
    await db[ENTRIES].create_index([("meet", 1), ("member_id", 1)])


def pool_of(activity_id: str, member_id: str) -> str:
    return f"{activity_id}:{member_id}"


class MeetBook:
    """Meets and their entries, as the use cases need them."""

    def __init__(self, store: AggregateStore[SportsMeet]) -> None:
        self.store = store
        self.entries = store.db[ENTRIES]

    async def enter(
        self, meet: SportsMeet, item_id: str, member: dict[str, Any]
    ) -> dict[str, Any] | None:
        """The member's entry for the item (the one they have, when they have it), or None
        when they have entered `max_entries` items already."""
        pool = pool_of(meet.id, member["_id"])
        doc = {
            "meet": meet.id,
            "item": item_id,
            "member_id": member["_id"],
            "name": member.get("name", ""),
            "team": member.get("department", ""),
            "campus": member.get("campus", ""),
            "entered_at": utcnow(),
        }
        number = await take_slot(self.entries, pool, meet.max_entries, item_id, doc)
        if number is None:
            return None
        return await self.entries.find_one({"pool": pool, "holder": item_id})

    async def withdraw(self, meet_id: str, item_id: str, member_id: str) -> bool:
        return await release_slot(self.entries, pool_of(meet_id, member_id), item_id) is not None

    async def of_item(self, meet_id: str, item_id: str) -> list[dict[str, Any]]:
        found = self.entries.find({"meet": meet_id, "item": item_id}).sort([("entered_at", 1)])
        return await found.to_list(length=10_000)

    async def of_member(self, meet_id: str, member_id: str) -> list[dict[str, Any]]:
        found = self.entries.find({"meet": meet_id, "member_id": member_id})
        return await found.to_list(length=100)

    async def teams(self, meet_id: str) -> list[str]:
        """The departments that entered anything."""
        found = self.entries.find({"meet": meet_id}, {"team": 1})
        return sorted({d["team"] async for d in found if d.get("team")})

    async def counts(self, meet_id: str) -> dict[str, int]:
        """Entries per item."""
        counts: dict[str, int] = {}
        async for doc in self.entries.find({"meet": meet_id}, {"item": 1}):
            counts[doc["item"]] = counts.get(doc["item"], 0) + 1
        return counts
