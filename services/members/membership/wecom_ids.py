"""Who holds each WeCom (企业微信) user id: one member at a time, as a unique key.

The WeCom id is who signs in as the member, so two members must never hold one. WeCom itself
checks its user ids for uniqueness ignoring case (创建成员 API, developer.work.weixin.qq.com
/document/path/90195: "系统进行唯一性检查时会忽略大小写"), and its OAuth answer may spell an id
otherwise than a cadre typed it: the key is the id in lower case, the member keeps the id as
given.

A check before the write (read the view, then write) lets two simultaneous changes both pass,
and FerretDB makes no update atomic: the id is *reserved* first by a unique-key insert
(`claim_once`), the member's change is written second, and what the member no longer holds is
released last (`settle`). A crash between the steps leaves a reservation its holder's state
does not back; after `LEASE` anyone may take it over (a reservation younger than that is a
change still under way).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from enum import Enum
from typing import TYPE_CHECKING

from pymongo.errors import BulkWriteError

from shared.claims import claim_once
from shared.errors import Conflict
from shared.mongo import find_by_ids
from shared.timeutil import utcnow

if TYPE_CHECKING:
    from pymongo.asynchronous.database import AsyncDatabase

    from services.members.membership.domain import Member
    from shared.aggregate import AggregateStore

log = logging.getLogger(__name__)

HOLDERS = "wecom_ids"
LEASE = timedelta(seconds=60)


def wecom_key(userid: str | None) -> str | None:
    """The id as WeCom compares it (ids are letters, digits and _ - @ . only)."""
    return userid.lower() if userid else None


def taken() -> Conflict:
    return Conflict(
        "member.wecom_userid_taken",
        "该企业微信账号已登记在其他会员名下，请联系工会干部核对",
        field="wecom_userid",
    )


class Reserved(Enum):
    new = "new"  # reserved by this call: released again if the change fails
    held = "held"  # the member held it already


class WecomIds:
    def __init__(self, members: AggregateStore[Member]) -> None:
        self.members = members
        self.coll = members.db[HOLDERS]

    async def holder(self, userid: str) -> Member | None:
        """The member whose current WeCom id this is (in any case), or None."""
        key = wecom_key(userid)
        doc = await self.coll.find_one({"_id": key}) if key else None
        member = await self.members.get(doc["member"]) if doc else None
        if member is None or wecom_key(member.wecom_userid) != key:
            return None  # a reservation for a change under way, or left by a crash
        return member

    async def holders(self, userids: list[str]) -> dict[str, str]:
        """Who holds these ids now (the reservation, backed by the member's state), by key: a
        dry run's answer for many rows in two queries."""
        keys = sorted({k for u in userids if (k := wecom_key(u))})
        found = {k: d["member"] for k, d in (await find_by_ids(self.coll, keys)).items()}
        states = await self.members.get_many(sorted(set(found.values()))) if found else {}
        return {
            key: member
            for key, member in found.items()
            if member in states and wecom_key(states[member].wecom_userid) == key
        }

    async def reserve(self, userid: str, member_id: str) -> Reserved | None:
        """Reserve `userid` for the member; None when another member holds it."""
        key = wecom_key(userid)
        assert key is not None
        for _ in range(3):
            if await claim_once(self.coll, key, {"member": member_id}):
                return Reserved.new
            doc = await self.coll.find_one({"_id": key})
            if doc is None:
                continue  # released since: try again
            if doc["member"] == member_id:
                return Reserved.held
            if not await self._abandoned(doc):
                return None
            # Taken over only as it was read: of two taking over at once, one inserts.
            await self.coll.delete_one(
                {"_id": key, "member": doc["member"], "claimed_at": doc["claimed_at"]}
            )
        return None

    async def _abandoned(self, doc: dict) -> bool:
        if doc["claimed_at"] > utcnow() - LEASE:  # (the client is tz_aware)
            return False
        member = await self.members.get(doc["member"])
        return member is None or wecom_key(member.wecom_userid) != doc["_id"]

    async def release(self, userid: str, member_id: str) -> None:
        await self.coll.delete_one({"_id": wecom_key(userid), "member": member_id})

    async def settle(self, member: Member) -> None:
        """Release what the member no longer holds (its former id after a change)."""
        query: dict = {"member": member.id}
        if key := wecom_key(member.wecom_userid):
            query["_id"] = {"$ne": key}
        await self.coll.delete_many(query)

    @asynccontextmanager
    async def holding(self, member_id: str, userid: str | None) -> AsyncIterator[Reserved | None]:
        """Reserve `userid` for the change written inside; 409 when another member holds it.
        A change that fails gives back what it reserved."""
        if not userid:
            yield None
            return
        got = await self.reserve(userid, member_id)
        if got is None:
            raise taken()
        try:
            yield got
        except BaseException:
            if got is Reserved.new:
                await self.release(userid, member_id)
            raise


async def setup_holders(db: AsyncDatabase, view: str) -> None:
    """The index, and a reservation for every member whose id predates them (from the list
    view; of two members sharing one, the lower member id keeps it, and the pair is logged).
    What is reserved already is read once, so a start inserts only what is missing."""
    coll = db[HOLDERS]
    await coll.create_index("member")
    held = {d["_id"]: d["member"] async for d in coll.find({}, {"member": 1})}
    missing: list[dict] = []
    shown = db[view].find({"wecom_userid": {"$nin": [None, ""]}}, {"wecom_userid": 1})
    async for d in shown.sort("_id", 1):
        key = wecom_key(d["wecom_userid"])
        if key is None:
            continue
        if key not in held:
            held[key] = d["_id"]
            missing.append({"_id": key, "member": d["_id"], "claimed_at": utcnow()})
        elif held[key] != d["_id"]:
            log.warning(
                "WeCom id held by member %s is also on member %s (or the list view lags a "
                "change): a cadre must fix it",
                held[key],
                d["_id"],
            )
    for start in range(0, len(missing), 1000):
        try:
            await coll.insert_many(missing[start : start + 1000], ordered=False)
        except BulkWriteError:
            pass  # another replica starting at the same time reserved them first
