"""What a campus's calendar feed reads: activities from the list view, with when each last
changed (the view's `updated_at`, which the aggregate itself does not carry)."""

from __future__ import annotations

from datetime import datetime

from services.events.activities.domain import Activity
from services.events.calendar.domain import SHOWN, ShownActivity
from shared.aggregate import AggregateStore

MAX_FEED_ACTIVITIES = 2000


async def shown_activities(
    store: AggregateStore[Activity], campus: str, since: datetime
) -> list[ShownActivity]:
    """The campus's and the school's activities members have seen, starting from `since`."""
    query = {
        "campus": {"$in": sorted({campus, "*"})},
        "status": {"$in": sorted(s.value for s in SHOWN)},
        "starts_at": {"$gte": since},
    }
    sort = [("starts_at", 1), ("_id", 1)]
    found = []
    for activity, updated_at in await store.find_updated(
        query, sort=sort, limit=MAX_FEED_ACTIVITIES
    ):
        if activity.published_at is None:
            continue  # cancelled as a draft: nobody ever saw it
        found.append(ShownActivity(activity, updated_at or activity.published_at))
    return found
