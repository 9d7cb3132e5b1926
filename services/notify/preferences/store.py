"""Members' notification settings: one document per member, written by the member alone."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import time
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from services.notify.preferences.domain import Preferences, QuietHours
from shared.mongo import find_by_ids
from shared.timeutil import utcnow

PREFERENCES = "preferences"


def _time(text: str) -> time:
    hour, minute = text.split(":")
    return time(int(hour), int(minute))


def from_doc(doc: dict[str, Any] | None) -> Preferences:
    if doc is None:
        return Preferences()
    quiet = doc.get("quiet") or {}
    return Preferences(
        channels=doc.get("channels") or {},
        quiet=QuietHours(
            enabled=quiet.get("enabled", True),
            start=_time(quiet.get("start", "22:00")),
            end=_time(quiet.get("end", "07:00")),
        ),
    )


class PreferenceStore:
    def __init__(self, db: AsyncDatabase) -> None:
        self.coll = db[PREFERENCES]

    async def get(self, member_id: str) -> Preferences:
        return from_doc(await self.coll.find_one({"_id": member_id}))

    async def get_many(self, member_ids: Iterable[str]) -> dict[str, Preferences]:
        ids = list(member_ids)
        found = {i: from_doc(d) for i, d in (await find_by_ids(self.coll, ids)).items()}
        return {m: found.get(m, Preferences()) for m in ids}

    async def save(self, member_id: str, prefs: Preferences) -> None:
        """The member's own settings: the last save wins (a flag only they set)."""
        doc = {
            "channels": {k: list(v) for k, v in prefs.channels.items()},
            "quiet": {
                "enabled": prefs.quiet.enabled,
                "start": f"{prefs.quiet.start:%H:%M}",
                "end": f"{prefs.quiet.end:%H:%M}",
            },
            "updated_at": utcnow(),
        }
        await self.coll.replace_one({"_id": member_id}, doc, upsert=True)
