"""The annual plan (年度工作计划) as pages: /admin/plan for the union's desk, /m/plan for members.

Both read the events service's plan API (GET /plans, GET /plans/{id}); the API already says
which items are overdue (by today's date in Beijing time) and counts each month, so the pages
only group and label. Items are grouped under the month they are due — their last month, the
one the API's month summary counts them in — so a "7-8月" item sits under 8月 with its span
written on it, and each month's counts are the items shown under it.

A cadre (or an admin) moves an item on with a small form; with htmx the month's section is
swapped in place (its counts change with the item), without it the page is loaded again.
Which moves the plan allows is the events service's rule: a refused one is answered with its
message in the month's section.
"""

from __future__ import annotations

import asyncio
import re
from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Query
from fastapi.responses import Response

from services.web.backend import ApiError
from services.web.context import MemberVisit, StaffVisit, Visit, redirect
from services.web.sessions import Session
from shared.timeutil import local_today
from shared.vocabulary.events import PlanItemStatus

admin_router = APIRouter(prefix="/admin")
member_router = APIRouter(prefix="/m")

PlanId = Annotated[str, Path(pattern=r"^pl-[0-9]{4}(-[a-z][a-z0-9-]{0,31})?$")]
ItemId = Annotated[str, Path(pattern=r"^[0-9]{2,3}$")]
PlanParam = Annotated[
    str | None, Query(max_length=40, pattern=r"^pl-[0-9]{4}(-[a-z][a-z0-9-]{0,31})?$")
]
Year = Annotated[int | None, Query(ge=2000, le=2100)]
ACTIVITY_ID = re.compile(r"^a-[0-9a-f]{12}$")


# -- pure helpers -----------------------------------------------------------------------------


def plan_order(plans: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Plans as tabs: the school-wide plan first, then the campuses by code."""
    return sorted(plans, key=lambda p: (p["campus"] != "*", p["campus"]))


def plan_months(plan: dict[str, Any]) -> list[dict[str, Any]]:
    """The plan's items as month sections, in month order, each with the month's counts.

    An item belongs to the month it is due (`month_to`), as in the API's summary; items keep
    the API's order inside a month. A month without a summary row (none: the API counts
    every month that has items) gets zeros rather than failing the page."""
    counts = {row["month"]: row for row in plan.get("summary", [])}
    grouped: dict[int, list[dict[str, Any]]] = {}
    for item in plan.get("items", []):
        grouped.setdefault(item["month_to"], []).append(item)
    zero = {"done": 0, "overdue": 0, "upcoming": 0, "cancelled": 0}
    return [
        {
            "month": month,
            "label": f"{month}月",
            "items": grouped[month],
            "summary": {**zero, **{k: counts.get(month, {}).get(k, 0) for k in zero}},
        }
        for month in sorted(grouped)
    ]


def years_of(plans: list[dict[str, Any]], this_year: int) -> list[int]:
    """The years to choose from: every year that has a plan, and this year, newest first."""
    return sorted({this_year, *(p["year"] for p in plans)}, reverse=True)


def chosen_year(year: int | None, plans: list[dict[str, Any]], this_year: int) -> int:
    """The year asked for; else this year when it has a plan; else the newest with one."""
    if year is not None:
        return year
    years = {p["year"] for p in plans}
    if this_year in years or not years:
        return this_year
    return max(years)


def linked_activities(plan: dict[str, Any]) -> list[str]:
    """The ids of the activities the plan's items link to (each once, in order)."""
    seen: dict[str, None] = {}
    for item in plan.get("items", []):
        for link in item.get("links", []):
            if link["kind"] == "activity" and ACTIVITY_ID.match(link["id"]):
                seen.setdefault(link["id"], None)
    return list(seen)


def other_statuses(status: str) -> dict[str, str]:
    """The form's choices: every status but the item's own."""
    return {k: v for k, v in PlanItemStatus.labels().items() if k != status}


# -- calls ------------------------------------------------------------------------------------


async def activity_titles(visit: Visit, plans: list[dict[str, Any]]) -> dict[str, str]:
    """Titles of the linked activities the caller may see (a draft a member may not open is
    left out: its link is not shown to them)."""
    ids = list(dict.fromkeys(a for plan in plans for a in linked_activities(plan)))

    async def title(activity_id: str) -> str | None:
        try:
            found = await visit.get("events", f"/activities/{activity_id}")
        except ApiError as exc:
            if exc.status in (403, 404):
                return None
            raise
        return str(found["title"])

    found = await asyncio.gather(*(title(a) for a in ids))
    return {a: t for a, t in zip(ids, found, strict=True) if t is not None}


async def plans_of_year(visit: Visit, year: int) -> list[dict[str, Any]]:
    """The plans of a year the caller may read, with their items, school-wide first."""
    page = await visit.get("events", "/plans", params={"year": year, "limit": 200})
    listed = plan_order(page["items"])
    return list(await asyncio.gather(*(visit.get("events", f"/plans/{p['id']}") for p in listed)))


# -- /admin/plan ------------------------------------------------------------------------------


@admin_router.get("/plan")
async def admin_plan(visit: StaffVisit, year: Year = None, plan: PlanParam = None) -> Response:
    """年度工作计划: a year's plans by month, overdue items flagged; role: cadre, finance,
    auditor or admin (cadres of the plan's campus move items on)."""
    return await admin_page(visit, year, plan)


async def admin_page(
    visit: Visit,
    year: int | None,
    plan_id: str | None,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    this_year = local_today().year
    listed = (await visit.get("events", "/plans", params={"limit": 200}))["items"]
    year = chosen_year(year, listed, this_year)
    of_year = plan_order([p for p in listed if p["year"] == year])
    chosen = next((p for p in of_year if p["id"] == plan_id), of_year[0] if of_year else None)
    detail = await visit.get("events", f"/plans/{chosen['id']}") if chosen else None
    titles, _ = await asyncio.gather(
        activity_titles(visit, [detail] if detail else []), visit.org()
    )
    return visit.render(
        "admin/plan.html",
        status_code=status_code,
        year=year,
        years=years_of(listed, this_year),
        plans=of_year,
        plan=detail,
        months=plan_months(detail) if detail else [],
        titles=titles,
        editable=detail is not None and may_move(visit.session, detail["campus"]),
        statuses=other_statuses,
        error=error,
        section="plan",
    )


def may_move(session: Session | None, campus: str) -> bool:
    """Whether to offer the status form: a cadre (or admin) of the plan's campus; the
    school-wide plan only to the school's (`*`). The events service decides again."""
    if session is None or not session.has("cadre"):
        return False
    return "*" in session.campuses or (campus != "*" and campus in session.campuses)


@admin_router.post("/plan/{plan_id}/items/{item_id}/status")
async def move_item(
    visit: StaffVisit,
    plan_id: PlanId,
    item_id: ItemId,
    status: Annotated[str, Form(pattern=r"^(planned|in_progress|done|cancelled)$")],
) -> Response:
    """Move an item on (计划中 / 进行中 / 已完成 / 已取消); with htmx the answer is the
    item's month section; role: cadre of the plan's campus."""
    htmx = visit.request.headers.get("hx-request") == "true"
    error = None
    try:
        await visit.post(
            "events", f"/plans/{plan_id}/items/{item_id}/status", json={"status": status}
        )
    except ApiError as exc:
        if exc.status not in (403, 404, 409):
            raise
        error = exc.message
    year = int(plan_id[3:7])
    if not htmx:
        if error:
            return await admin_page(visit, year, plan_id, error=error, status_code=409)
        return redirect(f"/admin/plan?year={year}&plan={plan_id}#item-{item_id}")
    detail = await visit.get("events", f"/plans/{plan_id}")
    months = plan_months(detail)
    month = next((m for m in months if any(i["id"] == item_id for i in m["items"])), None)
    if month is None:  # no such item: the whole page again, which shows what there is
        return Response(status_code=200, headers={"HX-Refresh": "true"})
    return visit.render(
        "admin/_plan_month.html",
        plan=detail,
        m=month,
        titles=await activity_titles(visit, [detail]),
        editable=may_move(visit.session, detail["campus"]),
        statuses=other_statuses,
        error=error,
        moved=None if error else item_id,
    )


# -- /m/plan ----------------------------------------------------------------------------------


@member_router.get("/plan")
async def member_plan(visit: MemberVisit) -> Response:
    """工作计划: this year's plans of my campus and the school, by month (read only); role:
    member."""
    year = local_today().year
    plans = await plans_of_year(visit, year)
    return visit.render(
        "m/plan.html",
        year=year,
        plans=[{**p, "months": plan_months(p)} for p in plans],
        titles=(await asyncio.gather(activity_titles(visit, plans), visit.org()))[0],
        tab=None,
    )
