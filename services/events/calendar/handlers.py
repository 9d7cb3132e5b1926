"""The calendar use cases: the feed of a campus (checked against its token) and its URL."""

from __future__ import annotations

from datetime import timedelta

from services.events.activities.store import ActivityCatalog
from services.events.calendar.domain import feed, feed_token, token_matches
from services.events.calendar.store import shown_activities
from services.events.plans.store import PlanBook
from shared.errors import NotFound
from shared.timeutil import local_today, utcnow

# How far back a feed reaches: last year's plan and a year of past activities.
HISTORY = timedelta(days=400)


async def campus_feed(
    campus: str, token: str, secret: bytes, plans: PlanBook, catalog: ActivityCatalog
) -> bytes:
    """The feed, or 404 for a token that is not this campus's (as for a campus with none)."""
    if not token_matches(secret, campus, token):
        raise NotFound("calendar.not_found", "日历订阅地址无效", campus=campus)
    year = local_today().year
    now = utcnow()
    shown_plans = await plans.of_scope(campus, range(year - 1, year + 2))
    activities = await shown_activities(catalog.store, campus, now - HISTORY)
    return feed(campus, shown_plans, activities, now)


def feed_path(secret: bytes, campus: str) -> str:
    return f"/calendar/{campus}/{feed_token(secret, campus)}.ics"
