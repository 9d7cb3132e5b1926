"""The member directory: a business read model of members that events and welfare keep.

Services never read members' database (DESIGN §2); they learn members from
`members.member` events, each applied only if newer than what the directory holds
(`shared.readmodels.newest`), so a `joined` replayed after `withdrawn` leaves them withdrawn.
It keeps each member's congress terms (`congress_terms`: term, start_year, years), from
which events registers a congress session's representatives.
"""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from shared.envelope import CloudEvent
from shared.events.members import (
    MemberApplied,
    MemberDeceased,
    MemberFacts,
    MemberJoined,
    MemberJoinedV2,
    MemberRejected,
    MemberRetired,
    MemberTransferred,
    MemberUpdated,
    MemberWithdrawn,
)
from shared.readmodels.newest import apply_if_newer
from shared.routing import Routes, on

MEMBER_DIRECTORY = "member_directory"


class MemberDirectory:
    def __init__(self, db: AsyncDatabase) -> None:
        self.coll = db[MEMBER_DIRECTORY]

    async def setup_indexes(self) -> None:
        await self.coll.create_index([("campus", 1), ("department", 1)])
        await self.coll.create_index("status")
        await self.coll.create_index("staff_no")

    async def get(self, member_id: str) -> dict | None:
        return await self.coll.find_one({"_id": member_id})

    async def by_staff_no(self, staff_no: str) -> dict | None:
        return await self.coll.find_one({"staff_no": staff_no})

    async def apply(self, member_id: str, envelope: CloudEvent, fields: dict[str, Any]) -> bool:
        """Apply an event's facts unless a newer event of the member was applied already."""
        facts = {**fields, "as_of": envelope.time}
        return await apply_if_newer(self.coll, member_id, envelope.sequence, facts)


FACT_FIELDS = (
    "staff_no",
    "name",
    "campus",
    "department",
    "gender",
    "birthday",
    "birth_year",
    "small_group",
    "status",
    "roles",
)


async def on_member_facts(
    event: MemberFacts, envelope: CloudEvent, directory: MemberDirectory
) -> None:
    """Every `members.member` event of v2 carries the member's facts: keep the newest. The
    congress terms only when the event carries them: one from a publisher that predates
    them (a rolling deploy, a replay) says nothing about them and must not erase them."""
    fields = {name: getattr(event, name) for name in FACT_FIELDS}
    fields["joined_on"] = event.joined_on.isoformat() if event.joined_on else None
    if "congress_terms" in event.model_fields_set:
        fields["congress_terms"] = [t.model_dump() for t in event.congress_terms]
    await directory.apply(event.member_id, envelope, fields)


async def on_member_joined(
    event: MemberJoined, envelope: CloudEvent, directory: MemberDirectory
) -> None:
    """v1 (deprecated): only a member the directory has never heard of comes from it."""
    if await directory.get(event.member_id) is not None:
        return
    await directory.apply(
        event.member_id,
        envelope,
        {
            "staff_no": event.staff_no,
            "name": event.name,
            "campus": event.campus,
            "department": event.department,
            "status": "active",
            "joined_on": event.joined_on.isoformat(),
        },
    )


async def on_member_withdrawn(
    event: MemberWithdrawn, envelope: CloudEvent, directory: MemberDirectory
) -> None:
    await directory.apply(
        event.member_id,
        envelope,
        {"status": "withdrawn", "withdrawn_on": event.withdrawn_on.isoformat()},
    )


FACT_EVENTS: tuple[type[MemberFacts], ...] = (
    MemberApplied,
    MemberJoinedV2,
    MemberRejected,
    MemberUpdated,
    MemberTransferred,
    MemberRetired,
    MemberDeceased,
)


def member_directory_routes(directory: MemberDirectory) -> Routes:
    return [
        on(MemberJoined, on_member_joined, directory, legacy_name="on_member_joined"),
        on(MemberWithdrawn, on_member_withdrawn, directory),
        *(on(event, on_member_facts, directory) for event in FACT_EVENTS),
    ]


async def setup_directory_indexes(db: AsyncDatabase) -> None:
    await MemberDirectory(db).setup_indexes()
