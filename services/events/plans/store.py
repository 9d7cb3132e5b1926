"""The annual plan's MongoDB access: the plan aggregate's change log, its list view, and the
source table that ships with the code (`data/plan_2023.json`)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from services.events.plans.domain import ALL, Plan, SourcePlan, plan_id_for
from shared.aggregate import AggregateStore
from shared.auth import Principal
from shared.errors import NotFound

PLANS = "plans"  # the list view; `plans_changes` is the change log (the truth)
TOPIC = "events.plan"
NOT_FOUND = ("plan.not_found", "未找到该年度工作计划")
DATA = Path(__file__).resolve().parent / "data"
SOURCE_YEARS = (2023,)


async def setup_indexes(db: AsyncDatabase) -> None:
    await db[PLANS].create_index([("campus", 1), ("year", 1)])


@cache
def source_plan(year: int) -> SourcePlan:
    """The plan of the source work plan's table for `year`, as checked in."""
    return SourcePlan.model_validate(json.loads((DATA / f"plan_{year}.json").read_text("utf-8")))


def can_see(user: Principal, plan: Plan) -> bool:
    """Members read their campuses' plans and the school-wide one."""
    return plan.campus == ALL or user.can_access(plan.campus)


def visible_scope(user: Principal) -> dict[str, Any]:
    if user.all_campuses:
        return {}
    return {"campus": {"$in": sorted({*user.campuses, ALL})}}


class PlanBook:
    """Plans as the use cases need them."""

    def __init__(self, store: AggregateStore[Plan]) -> None:
        self.store = store

    async def visible(self, plan_id: str, user: Principal) -> Plan:
        """The plan, or 404 when the caller may not read it (no probing of other campuses)."""
        plan = await self.store.get(plan_id)
        if plan is None or not can_see(user, plan):
            raise NotFound(*NOT_FOUND, id=plan_id)
        return plan

    async def page(self, query: dict[str, Any], limit: int, offset: int) -> tuple[list[Plan], int]:
        items = await self.store.find(
            query, sort=[("year", -1), ("campus", 1), ("_id", 1)], skip=offset, limit=limit
        )
        return items, await self.store.count(query)

    async def of_scope(self, campus: str, years: range) -> list[Plan]:
        """The plans a campus's calendar shows: its own and the school's, in `years`, current
        (their ids are derived, so they are read by id, not from the list view)."""
        ids = [plan_id_for(y, c) for y in years for c in sorted({campus, ALL})]
        found = await self.store.get_many(ids)
        return [found[i] for i in ids if i in found]
