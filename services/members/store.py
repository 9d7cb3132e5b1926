"""Members' MongoDB access: the member document carries its own outbox."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.members.domain import Member, MembershipError, MemberStatus
from shared.outbox import new_with_outbox
from shared.timeutil import utcnow

MEMBERS = "members"


async def setup_indexes(db: AsyncDatabase) -> None:
    await db[MEMBERS].create_index("staff_no", unique=True)
    await db[MEMBERS].create_index([("campus", 1), ("name", 1)])


def _to_doc(member: Member) -> dict[str, Any]:
    return {
        "_id": member.id,
        "staff_no": member.staff_no,
        "name": member.name,
        "campus": member.campus,
        "department": member.department,
        "email": member.email,
        "phone": member.phone,
        "status": member.status.value,
        "joined_on": member.joined_on.isoformat(),
        "enrolled_by": member.enrolled_by,
        "created_at": utcnow(),
    }


def _from_doc(doc: dict[str, Any]) -> Member:
    return Member(
        id=doc["_id"],
        staff_no=doc["staff_no"],
        name=doc["name"],
        campus=doc["campus"],
        department=doc["department"],
        email=doc.get("email"),
        phone=doc.get("phone"),
        status=MemberStatus(doc["status"]),
        joined_on=date.fromisoformat(doc["joined_on"]),
        enrolled_by=doc.get("enrolled_by", ""),
    )


class MemberStore:
    def __init__(self, db: AsyncDatabase, source: str, on_events: Callable[[], None]) -> None:
        self.coll = db[MEMBERS]
        self.source = source
        self.on_events = on_events

    async def add(self, member: Member, traceparent: str | None = None) -> None:
        events = [
            e.envelope(
                source=self.source, subject=member.id, campus=member.campus, traceparent=traceparent
            )
            for e in member.events
        ]
        try:
            # One insert: the member and its MemberJoined event, atomically.
            await self.coll.insert_one(new_with_outbox(_to_doc(member), events))
        except DuplicateKeyError as exc:
            raise MembershipError(
                "member.duplicate_staff_no", f"工号「{member.staff_no}」已是会员"
            ) from exc
        member.events.clear()
        self.on_events()

    async def get(self, member_id: str, scope: dict[str, Any]) -> Member | None:
        doc = await self.coll.find_one({"_id": member_id, **scope})
        return _from_doc(doc) if doc else None

    async def list(self, scope: dict[str, Any], limit: int, offset: int) -> list[Member]:
        cursor = (
            self.coll.find(scope).sort([("campus", 1), ("staff_no", 1)]).skip(offset).limit(limit)
        )
        return [_from_doc(d) async for d in cursor]
