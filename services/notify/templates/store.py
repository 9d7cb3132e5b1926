"""Per-campus template overrides (an admin's wording for one campus); defaults live in code."""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from services.notify.templates.domain import TemplateText, default_text
from shared.timeutil import utcnow

TEMPLATES = "templates"


class Templates:
    def __init__(self, db: AsyncDatabase) -> None:
        self.coll = db[TEMPLATES]

    async def text_for(self, key: str, campus: str) -> TemplateText:
        """The campus's override of a template, else the default."""
        return await self.override(key, campus) or default_text(key)

    async def override(self, key: str, campus: str) -> TemplateText | None:
        """The campus's own wording of a template, if an admin saved one."""
        doc = await self.coll.find_one({"_id": f"{key}@{campus}"})
        return None if doc is None else TemplateText(doc["title"], doc["body"])

    async def overrides(self, key: str) -> list[dict[str, Any]]:
        return await self.coll.find({"key": key}).sort("campus", 1).to_list()

    async def save(self, key: str, campus: str, text: TemplateText, by: str) -> None:
        """An admin's edit of their campus's wording: the last save wins (no rule to race)."""
        doc = {
            "key": key,
            "campus": campus,
            "title": text.title,
            "body": text.body,
            "saved_by": by,
            "saved_at": utcnow(),
        }
        await self.coll.replace_one({"_id": f"{key}@{campus}"}, doc, upsert=True)

    async def reset(self, key: str, campus: str) -> bool:
        done = await self.coll.delete_one({"_id": f"{key}@{campus}"})
        return done.deleted_count > 0
