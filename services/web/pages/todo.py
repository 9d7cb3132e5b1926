"""待办 on the desk's home: what waits for this cadre, gathered from every service within the
caller's campuses (each service scopes its answer to the caller's token), each a count and a
link to where it is done.

Only what the role can act on is asked for: applications, overdue plan items, proposals past
their reply date and failed deliveries to cadres; condolence cases and festival plans to
approve to the chair (admin). The sources are fetched concurrently; one that fails, refuses
(403) or is slow is left out, never an error page.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from services.web.backend import ApiError
from services.web.context import Visit
from services.web.pages.plan import may_move
from shared.timeutil import local_today

log = logging.getLogger(__name__)

SOURCE_TIMEOUT_S = 4.0
SESSIONS_LOOKED_AT = 6  # the newest congress sessions (older ones are long answered)


@dataclass(frozen=True)
class Todo:
    label: str
    count: int
    href: str
    key: str  # the source, for the page's ids and tests


async def applications(visit: Visit) -> list[Todo]:
    page = await visit.get("members", "/members", params={"status": "applied", "limit": 1})
    return [Todo("入会申请待批准", page["total"], "/admin/members?status=applied", "applications")]


async def cases(visit: Visit) -> list[Todo]:
    page = await visit.get("welfare", "/cases", params={"status": "raised", "limit": 1})
    return [Todo("慰问事项待审批", page["total"], "/admin/care?status=raised", "cases")]


async def festival_plans(visit: Visit) -> list[Todo]:
    listed = (await visit.get("welfare", "/welfare/plans"))["items"]
    drafts = [p for p in listed if p["status"] == "draft"]
    href = f"/admin/welfare/{drafts[0]['id']}" if len(drafts) == 1 else "/admin/welfare"
    return [Todo("福利发放方案待批准", len(drafts), href, "festival_plans")]


async def overdue_items(visit: Visit) -> list[Todo]:
    """Last year's and this year's plans of the campuses the caller moves items on (last
    year's December is still to be done in January)."""
    this_year = local_today().year
    listed = await visit.get("events", "/plans", params={"limit": 200})
    mine = [
        p
        for p in listed["items"]
        if p["year"] >= this_year - 1 and may_move(visit.session, p["campus"])
    ]
    plans = await asyncio.gather(*(visit.get("events", f"/plans/{p['id']}") for p in mine))
    return [
        Todo(
            f"{plan['title']}：逾期的工作要点",
            sum(1 for item in plan["items"] if item.get("overdue")),
            f"/admin/plan?year={plan['year']}&plan={plan['id']}",
            "overdue_items",
        )
        for plan in plans
    ]


async def overdue_proposals(visit: Visit) -> list[Todo]:
    assert visit.session is not None
    campuses = visit.session.campuses
    listed = await visit.get("events", "/congress/sessions")
    mine = [s for s in listed if "*" in campuses or s["campus"] in campuses]
    mine = mine[:SESSIONS_LOOKED_AT]
    late = await asyncio.gather(
        *(
            visit.get(
                "events", f"/congress/sessions/{s['id']}/proposals", params={"overdue": "true"}
            )
            for s in mine
        )
    )
    return [
        Todo(
            f"{s['title']}：提案逾期未答复",
            len(proposals),
            f"/admin/congress/{s['id']}/replies",
            "overdue_proposals",
        )
        for s, proposals in zip(mine, late, strict=True)
    ]


async def failed_deliveries(visit: Visit) -> list[Todo]:
    counts = await visit.get("notify", "/deliveries/summary")
    failed = sum(c["count"] for c in counts if c["status"] == "failed")
    return [Todo("发送失败的消息", failed, "/admin/deliveries", "failed_deliveries")]


Source = Callable[[Visit], Awaitable[list[Todo]]]
CADRE_SOURCES: tuple[Source, ...] = (
    applications,
    overdue_items,
    overdue_proposals,
    failed_deliveries,
)
CHAIR_SOURCES: tuple[Source, ...] = (cases, festival_plans)


def sources_for(roles: list[str]) -> tuple[Source, ...]:
    """What the roles can act on: cadres (admins are cadres too) and the chair (admin)."""
    chosen: tuple[Source, ...] = ()
    if "cadre" in roles or "admin" in roles:
        chosen += CADRE_SOURCES
    if "admin" in roles:
        chosen += CHAIR_SOURCES
    return chosen


async def _quietly(source: Source, visit: Visit) -> list[Todo]:
    """A source's items; nothing when it fails, refuses or takes too long."""
    try:
        async with asyncio.timeout(SOURCE_TIMEOUT_S):
            return await source(visit)
    except (ApiError, TimeoutError, KeyError, TypeError) as exc:
        log.info("待办: %s left out (%s)", source.__name__, exc)
        return []


async def waiting_for(visit: Visit) -> list[Todo]:
    """Every source the caller's roles can act on, concurrently; only what has a count."""
    assert visit.session is not None
    found = await asyncio.gather(
        *(_quietly(source, visit) for source in sources_for(visit.session.roles))
    )
    return [todo for items in found for todo in items if todo.count > 0]
