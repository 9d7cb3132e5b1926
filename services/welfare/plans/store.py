"""Where plans and entitlements live: two aggregate stores (their change logs are the truth,
their views serve lists), the capped-out list, and the eligible members of the directory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from shared.readmodels.member_directory import MemberDirectory

PLANS = "welfare_plans"
ENTITLEMENTS = "welfare_entitlements"
CAPPED = "welfare_plan_capped"
DISTRIBUTED = "welfare_plan_distributed"


async def setup_indexes(db: AsyncDatabase) -> None:
    await db[ENTITLEMENTS].create_index([("plan_id", 1), ("campus", 1), ("department", 1)])
    await db[ENTITLEMENTS].create_index("member_id")
    await db[PLANS].create_index([("campus", 1), ("year", 1)])
    await db[CAPPED].create_index("plan_id")


async def members_of(
    directory: MemberDirectory, campus: str, batch: int = 2000
) -> AsyncIterator[list[dict[str, Any]]]:
    """The directory's members of one campus, in batches (an equality the storage serves)."""
    fields = {"campus": 1, "department": 1, "status": 1, "joined_on": 1, "gender": 1}
    cursor = directory.coll.find({"campus": campus}, fields).batch_size(batch)
    chunk: list[dict[str, Any]] = []
    async for member in cursor:
        chunk.append(member)
        if len(chunk) >= batch:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
