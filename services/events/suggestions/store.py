"""The suggestion box's MongoDB access: the suggestion aggregate and its list view."""

from __future__ import annotations

from pymongo.asynchronous.database import AsyncDatabase

SUGGESTIONS = "suggestions"  # the list view; `suggestions_changes` is the change log
TOPIC = "events.suggestion"
NOT_FOUND = ("suggestion.not_found", "未找到该意见建议")


async def setup_indexes(db: AsyncDatabase) -> None:
    await db[SUGGESTIONS].create_index([("campus", 1), ("status", 1)])
    await db[SUGGESTIONS].create_index([("member_id", 1)])
