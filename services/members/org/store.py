"""The organisation's MongoDB access: one aggregate per campus."""

from __future__ import annotations

from services.members.org.domain import Campus, CampusDefinition, new_campus
from shared.aggregate import Actor, AggregateStore, AlreadyExists
from shared.errors import Conflict, NotFound

CAMPUSES = "campuses"
TOPIC = "members.campus"
NOT_FOUND = ("org.unknown_campus", "校区不存在")


class Organisation:
    def __init__(self, store: AggregateStore[Campus]) -> None:
        self.store = store

    async def campus(self, code: str) -> Campus:
        found = await self.store.get(code)
        if found is None:
            raise NotFound("org.unknown_campus", f"校区「{code}」不存在", campus=code)
        return found

    async def campuses(self) -> list[Campus]:
        return await self.store.find({}, sort=[("_id", 1)], limit=500)

    async def define(self, code: str, cmd: CampusDefinition, actor: Actor) -> Campus:
        """Create the campus or replace its definition (the same answer either way)."""
        for _ in range(3):
            if await self.store.get(code) is not None:
                return await self.store.change(code, lambda c: c.define(cmd), actor, "define")
            campus = new_campus(code)
            campus.define(cmd)
            try:
                return await self.store.add(campus, actor, "define")
            except AlreadyExists:
                continue  # defined by someone else meanwhile: change theirs
        raise Conflict("concurrency.conflict", "数据正被他人同时修改，请刷新后重试")
