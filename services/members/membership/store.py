"""Members' MongoDB access: the member aggregate's change log and its list view."""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from services.members.membership.domain import Member
from shared.aggregate import Actor, AggregateStore
from shared.errors import Conflict

MEMBERS = "members"  # the list view; `members_changes` is the change log (the truth)
TOPIC = "members.member"
NOT_FOUND = ("member.not_found", "未找到该会员")


async def setup_indexes(db: AsyncDatabase) -> None:
    await db[MEMBERS].create_index("staff_no", unique=True)
    await db[MEMBERS].create_index([("campus", 1), ("name", 1)])


class MemberRegistry:
    """Members as the use cases need them: enrol, change, read, list."""

    def __init__(self, store: AggregateStore[Member]) -> None:
        self.store = store

    async def enrol(self, member: Member, actor: Actor) -> Member:
        # Members enrolled before ids were derived from the staff number have other ids:
        # the view still knows their staff numbers.
        if await self.store.view.find_one({"staff_no": member.staff_no}, {"_id": 1}):
            raise _duplicate(member)
        try:
            return await self.store.add(member, actor, "join")
        except Conflict as exc:
            raise _duplicate(member) from exc

    async def list(self, scope: dict[str, Any], limit: int, offset: int) -> list[Member]:
        return await self.store.find(
            scope, sort=[("campus", 1), ("staff_no", 1)], skip=offset, limit=limit
        )


def _duplicate(member: Member) -> Conflict:
    return Conflict(
        "member.duplicate_staff_no", f"工号「{member.staff_no}」已是会员", staff_no=member.staff_no
    )
