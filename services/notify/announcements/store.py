"""Posted announcements, and the read side of their deliveries (counts, who has not read).

An announcement is inserted once (its id is new); afterwards only the fan-out writes it: how
far through the member directory it got (`through`, a member id) and its state. Those are
hints, not invariants: two replicas writing them at once can only make a resumed fan-out
look at members again, whose deliveries then exist already (unique ids).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from services.notify.announcements.domain import (
    Announcement,
    AnnouncementState,
    Segment,
    Statistics,
    tally,
)
from services.notify.delivery.domain import DeliveryStatus
from services.notify.delivery.store import DELIVERIES
from services.notify.routing.domain import ChannelName

ANNOUNCEMENTS = "announcements"


def to_doc(a: Announcement) -> dict[str, Any]:
    return {
        "_id": a.id,
        "campus": a.campus,
        "title": a.title,
        "body": a.body,
        "segment": a.segment.to_doc(),
        "mandatory": a.mandatory,
        "expires_at": a.expires_at,
        "posted_by": a.posted_by,
        "posted_at": a.posted_at,
        "state": a.state.value,
        "through": None,
    }


def of_doc(d: Mapping[str, Any]) -> Announcement:
    return Announcement(
        id=d["_id"],
        campus=d["campus"],
        title=d["title"],
        body=d["body"],
        segment=Segment.of(d.get("segment") or {}),
        mandatory=bool(d.get("mandatory")),
        expires_at=d.get("expires_at"),
        posted_by=d.get("posted_by") or "",
        posted_at=d["posted_at"],
        state=AnnouncementState(d.get("state") or "sending"),
    )


class Announcements:
    def __init__(self, db: AsyncDatabase) -> None:
        self.coll = db[ANNOUNCEMENTS]
        self.deliveries = db[DELIVERIES]

    async def setup_indexes(self) -> None:
        await self.coll.create_index([("state", 1)])
        await self.coll.create_index([("campus", 1), ("posted_at", -1)])
        await self.deliveries.create_index([("event_id", 1), ("channel", 1)])

    async def add(self, a: Announcement) -> None:
        await self.coll.insert_one(to_doc(a))

    async def get(self, announcement_id: str) -> dict[str, Any] | None:
        return await self.coll.find_one({"_id": announcement_id})

    async def listing(
        self, query: Mapping[str, Any], limit: int, offset: int
    ) -> list[dict[str, Any]]:
        cursor = self.coll.find(dict(query)).sort("posted_at", -1).skip(offset).limit(limit)
        return await cursor.to_list()

    async def sending(self) -> list[dict[str, Any]]:
        query = {"state": AnnouncementState.sending.value}
        return await self.coll.find(query).sort("posted_at", 1).to_list()

    async def progress(self, announcement_id: str, through: str) -> None:
        await self.coll.update_one({"_id": announcement_id}, {"$set": {"through": through}})

    async def finish(self, announcement_id: str, state: AnnouncementState, at: datetime) -> None:
        await self.coll.update_one(
            {"_id": announcement_id}, {"$set": {"state": state.value, "finished_at": at}}
        )

    def _inbox(self, announcement_id: str) -> dict[str, Any]:
        return {"event_id": announcement_id, "channel": ChannelName.inbox.value}

    async def statistics(
        self, announcement_id: str, campus_filter: Mapping[str, Any]
    ) -> Statistics:
        """Delivered and read counts of its inbox messages, per campus and department (only
        the caller's campuses)."""
        # Counted by the database, one row per (campus, department, status): the page asks
        # every few seconds, and a notice to the whole school has 50,000 deliveries.
        query = {**self._inbox(announcement_id), **campus_filter}
        group = {"campus": "$campus", "department": "$department", "status": "$status"}
        pipeline = [{"$match": query}, {"$group": {"_id": group, "n": {"$sum": 1}}}]
        counted = await (await self.deliveries.aggregate(pipeline)).to_list()
        return tally({**row["_id"], "n": row["n"]} for row in counted)

    async def unread(
        self, announcement_id: str, campus_filter: Mapping[str, Any], limit: int, offset: int
    ) -> list[dict[str, Any]]:
        """Its inbox messages not read yet (on the caller's campuses), by department."""
        query = {
            **self._inbox(announcement_id),
            **campus_filter,
            "status": DeliveryStatus.sent.value,
        }
        fields = {"member_id": 1, "campus": 1, "department": 1, "variables.name": 1}
        cursor = self.deliveries.find(query, fields).sort("_id", 1).skip(offset).limit(limit)
        return await cursor.to_list()
