"""Members' MongoDB access: the member aggregate's change log, its list view, and queries."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from services.members.membership.domain import (
    Member,
    MemberStatus,
    UnionRole,
    member_id_for,
)
from services.members.membership.wecom_ids import WecomIds, setup_holders
from shared.aggregate import Actor, AggregateStore, AlreadyExists
from shared.crypto import Sealer
from shared.errors import Conflict

log = logging.getLogger(__name__)

MEMBERS = "members"  # the list view; `members_changes` is the change log (the truth)
TOPIC = "members.member"
NOT_FOUND = ("member.not_found", "未找到该会员")


async def setup_indexes(db: AsyncDatabase) -> None:
    await db[MEMBERS].create_index("staff_no", unique=True)
    await db[MEMBERS].create_index([("campus", 1), ("name", 1)])
    await db[MEMBERS].create_index([("campus", 1), ("department", 1)])
    await db[MEMBERS].create_index("status")
    await setup_holders(db, MEMBERS)  # WeCom sign-in finds the member by its reservation


@dataclass(frozen=True)
class MemberFilter:
    """What a cadre narrows the member list by (every field optional)."""

    department: str | None = None
    status: MemberStatus | None = None
    gender: str | None = None
    role: UnionRole | None = None
    small_group: str | None = None
    age_min: int | None = None
    age_max: int | None = None
    q: str | None = None  # part of a name, or the start of a staff number

    def query(self, scope: dict[str, Any], today: date) -> dict[str, Any]:
        query: dict[str, Any] = dict(scope)
        for key in ("department", "gender", "small_group"):
            if getattr(self, key) is not None:
                query[key] = getattr(self, key)
        if self.status is not None:
            query["status"] = self.status.value
        if self.role is not None:
            query["roles"] = self.role.value
        born: dict[str, str] = {}
        if self.age_max is not None:  # born after this day age_max + 1 years ago
            born["$gt"] = _years_before(today, self.age_max + 1).isoformat()
        if self.age_min is not None:
            born["$lte"] = _years_before(today, self.age_min).isoformat()
        if born:
            query["birth_date"] = born
        if self.q:
            text = re.escape(self.q.strip())
            query["$or"] = [
                {"name": {"$regex": text}},
                {"staff_no": {"$regex": f"^{text.upper()}"}},
            ]
        return query


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


class MemberRegistry:
    """Members as the use cases need them: enrol, change, read, list."""

    def __init__(
        self,
        store: AggregateStore[Member],
        school_campus: str = "main",
        mail_sealer: Sealer | None = None,
    ) -> None:
        self.store = store
        # Seals what notify must mail (an e-mail confirmation link) so no topic holds it.
        self.mail_sealer = mail_sealer
        # The school union's campus: its chair signs in as admin of all (`grants`).
        self.school_campus = school_campus
        self._legacy: bool | None = None  # are there members from before derived ids?
        self.wecom_ids = WecomIds(store)  # one member per WeCom id, a unique key

    async def _has_legacy(self) -> bool:
        # Members enrolled before ids were derived from the staff number have random ids, so
        # only the view knows their staff numbers. Such members never come back once gone,
        # so the (scanning) lookup is made only while the database still holds some.
        if self._legacy is None:
            self._legacy = (
                await self.store.view.find_one({"version": {"$exists": False}}) is not None
            )
        return self._legacy

    async def by_staff_no(self, staff_no: str) -> Member | None:
        """The member with this (cleaned) staff number, as of the last change answered."""
        member = await self.store.get(member_id_for(staff_no))
        if member is None and await self._has_legacy():
            doc = await self.store.view.find_one({"staff_no": staff_no}, {"_id": 1})
            member = await self.store.get(doc["_id"]) if doc else None
        return member

    async def by_wecom_userid(self, userid: str) -> Member | None:
        """The member whose current WeCom user id this is, WeCom's way: ignoring case."""
        return await self.wecom_ids.holder(userid) if userid else None

    async def enrol(self, member: Member, actor: Actor, action: str = "join") -> Member:
        if await self._legacy_member(member.staff_no):
            raise duplicate(member.staff_no)
        async with self.wecom_ids.holding(member.id, member.wecom_userid):
            try:
                return await self.store.add(member, actor, action)
            except AlreadyExists as exc:
                raise duplicate(member.staff_no) from exc

    async def enrol_many(
        self, members: Sequence[Member], actor: Actor, action: str = "join"
    ) -> list[bool]:
        """`enrol` for many (a bulk import), in two inserts: for each, True when enrolled,
        False when the staff number is a member already (then nothing is written for it)."""
        known = [await self._legacy_member(m.staff_no) for m in members]
        fresh = [m for m, k in zip(members, known, strict=True) if not k]
        added = iter(await self.store.add_many(fresh, actor, action))
        return [False if k else next(added) for k in known]

    async def _legacy_member(self, staff_no: str) -> bool:
        return bool(
            await self._has_legacy() and await self.store.view.find_one({"staff_no": staff_no})
        )

    async def page(
        self, query: dict[str, Any], limit: int, offset: int
    ) -> tuple[list[Member], int]:
        items = await self.store.find(
            query, sort=[("campus", 1), ("staff_no", 1)], skip=offset, limit=limit
        )
        return items, await self.store.count(query)


def duplicate(staff_no: str) -> Conflict:
    return Conflict("member.duplicate_staff_no", f"工号「{staff_no}」已是会员", staff_no=staff_no)
