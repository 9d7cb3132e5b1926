"""welfare's MongoDB access."""

from __future__ import annotations

from pymongo.asynchronous.database import AsyncDatabase

from shared.projections import MemberDirectory


async def setup_indexes(db: AsyncDatabase) -> None:
    await MemberDirectory(db).setup_indexes()
