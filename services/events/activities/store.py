"""Activities' MongoDB access: the activity aggregate's change log, its list view, queries."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from services.events.activities.domain import ALL, Activity, ActivityKind, ActivityStatus
from shared.aggregate import Actor, AggregateStore, AlreadyExists
from shared.auth import Principal, Role
from shared.errors import Conflict, NotFound

ACTIVITIES = "activities"  # the list view; `activities_changes` is the change log (the truth)
TOPIC = "events.activity"
NOT_FOUND = ("activity.not_found", "未找到该活动")


async def setup_indexes(db: AsyncDatabase) -> None:
    await db[ACTIVITIES].create_index([("campus", 1), ("starts_at", 1)])
    await db[ACTIVITIES].create_index("status")


@dataclass(frozen=True)
class ActivityFilter:
    status: ActivityStatus | None = None
    kind: ActivityKind | None = None
    campus: str | None = None
    starts_from: datetime | None = None
    starts_before: datetime | None = None

    def query(self, scope: dict[str, Any]) -> dict[str, Any]:
        query: dict[str, Any] = dict(scope)
        if self.status is not None:
            query["status"] = self.status.value
        if self.kind is not None:
            query["kind"] = self.kind.value
        if self.campus is not None:
            query["campus"] = self.campus
        span: dict[str, datetime] = {}
        if self.starts_from is not None:
            span["$gte"] = self.starts_from
        if self.starts_before is not None:
            span["$lt"] = self.starts_before
        if span:
            query["starts_at"] = span
        return query


def visible_scope(user: Principal) -> dict[str, Any]:
    """What a caller may list: cadres their campuses' activities (drafts too), members the
    published ones of their campuses and the school-wide ones."""
    if user.all_campuses:
        scope: dict[str, Any] = {}
    else:
        scope = {"campus": {"$in": sorted({*user.campuses, ALL})}}
    if not user.has_role(Role.cadre):
        scope["status"] = {"$ne": ActivityStatus.draft.value}
    return scope


def can_see(user: Principal, activity: Activity) -> bool:
    if not (activity.school_wide or user.can_access(activity.campus)):
        return False
    return activity.status is not ActivityStatus.draft or user.has_role(Role.cadre)


# How long a sign-up may decide on an activity this process read a moment ago. A burst of
# 2,000 sign-ups reads it once a second instead of 2,000 times (two reads each). What a
# second can hide: a change made on another replica (capacity only grows while sign-up runs,
# and a smaller capacity only sends someone to the waitlist); a close or a cancel, after
# which a sign-up may still land for up to a second — a cancel's registrations are then
# cancelled by the consumer, which checks each new registration's activity.
RECENT_S = 1.0


class ActivityCatalog:
    """Activities as the use cases need them."""

    def __init__(self, store: AggregateStore[Activity]) -> None:
        self.store = store
        self._recent: dict[str, tuple[Activity, float]] = {}

    async def get(self, activity_id: str) -> Activity | None:
        found = await self.store.get(activity_id)
        if found is not None:
            self.remember(found)
        return found

    async def recent(self, activity_id: str) -> Activity | None:
        """The activity as read at most `RECENT_S` ago here (read-only use: sign-ups)."""
        hit = self._recent.get(activity_id)
        if hit is not None and time.monotonic() - hit[1] < RECENT_S:
            return hit[0]
        return await self.get(activity_id)

    def remember(self, activity: Activity) -> None:
        known = self._recent.get(activity.id)
        if known is None or known[0].version <= activity.version:
            self._recent[activity.id] = (activity.model_copy(deep=True), time.monotonic())

    async def require(self, activity_id: str) -> Activity:
        return await self.store.require(activity_id)

    async def visible(self, activity_id: str, user: Principal, *, recent: bool = False) -> Activity:
        """The activity, or 404 when the caller may not see it (no probing of other campuses).
        `recent`: as read here within the last second (a sign-up's read)."""
        activity = await (self.recent(activity_id) if recent else self.get(activity_id))
        if activity is None or not can_see(user, activity):
            raise NotFound(*NOT_FOUND, id=activity_id)
        return activity

    async def add(self, activity: Activity, actor: Actor) -> Activity:
        try:
            added = await self.store.add(activity, actor, "draft")
            self.remember(added)
            return added
        except AlreadyExists as exc:
            raise Conflict(
                "activity.duplicate_ref",
                f"本校区已有外部编号为「{activity.ref}」的活动",
                id=activity.id,
                ref=activity.ref,
            ) from exc

    async def page(
        self, query: dict[str, Any], limit: int, offset: int
    ) -> tuple[list[Activity], int]:
        items = await self.store.find(
            query, sort=[("starts_at", 1), ("_id", 1)], skip=offset, limit=limit
        )
        return items, await self.store.count(query)
