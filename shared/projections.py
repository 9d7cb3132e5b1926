"""The member directory: a local read model of members that events and welfare both keep.

Services never read members' database (DESIGN §2); they learn members from
`members.member` events. The upsert is keyed by member id and guarded by the event time, so a
re-delivered or late event never rolls the projection back.
"""

from __future__ import annotations

from pymongo.asynchronous.database import AsyncDatabase

from shared.consumer import Routes, bind
from shared.envelope import CloudEvent
from shared.events.members import MemberJoined

MEMBER_DIRECTORY = "member_directory"


class MemberDirectory:
    def __init__(self, db: AsyncDatabase) -> None:
        self.coll = db[MEMBER_DIRECTORY]

    async def setup_indexes(self) -> None:
        await self.coll.create_index([("campus", 1), ("department", 1)])

    async def get(self, member_id: str) -> dict | None:
        return await self.coll.find_one({"_id": member_id})


async def on_member_joined(
    event: MemberJoined, envelope: CloudEvent, directory: MemberDirectory
) -> None:
    fields = {
        "staff_no": event.staff_no,
        "name": event.name,
        "campus": event.campus,
        "department": event.department,
        "status": "active",
        "joined_on": event.joined_on.isoformat(),
        "as_of": envelope.time,
    }
    # Insert the first time; later deliveries of the same (or an older) event change nothing.
    await directory.coll.update_one({"_id": event.member_id}, {"$setOnInsert": fields}, upsert=True)


def member_directory_routes(directory: MemberDirectory) -> Routes:
    return {MemberJoined: [bind(on_member_joined, directory)]}
