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
        self._legacy: bool | None = None  # are there members from before derived ids?

    async def enrol(self, member: Member, actor: Actor) -> Member:
        # Members enrolled before ids were derived from the staff number have random ids, so
        # only the view knows their staff numbers. Such members never come back once gone,
        # so the (scanning) lookup is made only while the database still holds some.
        if self._legacy is None:
            self._legacy = (
                await self.store.view.find_one({"version": {"$exists": False}}) is not None
            )
        if self._legacy and await self.store.view.find_one({"staff_no": member.staff_no}):
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
