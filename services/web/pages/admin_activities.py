"""The cadre desk under /admin, activities' side: create, publish, change, close and cancel
an activity; its registrations and waitlist with add and remove; attendance; the CSV export.
(The check-in desk is `desk.py`.)"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Query
from fastapi.responses import Response

from services.web.backend import ApiError
from services.web.context import StaffVisit, Visit, redirect
from services.web.pages.member import KINDS, optional
from shared.timeutil import utcnow
from shared.vocabulary.events import ActivityStatus

router = APIRouter(prefix="/admin")

PAGE = 50
MemberId = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
ActivityId = Annotated[str, Path(pattern=r"^a-[0-9a-f]{12}$")]
Text = Annotated[str | None, Query(max_length=64, pattern=r"^[^\x00-\x1f\x7f]*$")]


# -- activities -------------------------------------------------------------------------------


@router.get("/activities")
async def activities(
    visit: StaffVisit,
    status: Text = None,
    kind: Text = None,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> Response:
    """Activities of my campuses, drafts included; role: cadre."""
    params = {
        "status": status or None,
        "kind": kind if kind in KINDS else None,
        "limit": PAGE,
        "offset": offset,
    }
    page, _ = await asyncio.gather(visit.get("events", "/activities", params=params), visit.org())
    return visit.render(
        "admin/activities.html",
        page=page,
        kinds=KINDS,
        statuses=ActivityStatus.labels(),
        kind=kind,
        status=status,
        prev=offset - PAGE if offset > 0 else None,
        next=offset + PAGE if offset + PAGE < page["total"] else None,
        section="activities",
    )


@router.get("/activities/new")
async def new_activity(visit: StaffVisit) -> Response:
    """The form for a new activity; role: cadre."""
    return visit.render(
        "admin/activity_form.html", a={}, kinds=KINDS, error=None, section="activities"
    )


def activity_body(form: dict[str, Any]) -> dict[str, Any]:
    """A DraftActivity from the form: blank cells are absent, the eligibility from its boxes."""
    body: dict[str, Any] = {
        k: form[k].strip()
        for k in ("kind", "title", "description", "venue", "campus")
        if isinstance(form.get(k), str)
    }
    for k in ("starts_at", "ends_at", "signup_opens_at", "signup_closes_at"):
        value = form.get(k)
        body[k] = value.strip() if isinstance(value, str) and value.strip() else None
    capacity = str(form.get("capacity") or "").strip()
    body["capacity"] = int(capacity) if capacity.isdigit() else None
    body["guests_max"] = int(str(form.get("guests_max") or "0").strip() or 0)
    body["waitlist"] = form.get("waitlist") == "on"
    eligibility: dict[str, Any] = {}
    if form.get("gender") in ("female", "male"):
        eligibility["gender"] = form["gender"]
    if form.get("retired") == "on":
        eligibility["statuses"] = ["active", "retired"]
    body["eligibility"] = eligibility
    return body


@router.post("/activities/new")
async def create_activity(visit: StaffVisit) -> Response:
    """Draft an activity (草稿); role: cadre of its campus."""
    form = dict(await visit.request.form())
    try:
        body = activity_body(form)
        created = await visit.post("events", "/activities", json=body)
    except (ApiError, ValueError) as exc:
        if isinstance(exc, ApiError) and exc.status not in (409, 422):
            raise
        message = exc.message if isinstance(exc, ApiError) else "名额与家属人数须为整数"
        return visit.render(
            "admin/activity_form.html",
            status_code=409,
            a=form,
            kinds=KINDS,
            error=message,
            section="activities",
        )
    return redirect(f"/admin/activities/{created['id']}")


def form_values(detail: dict[str, Any]) -> dict[str, Any]:
    """An activity as the form shows it: local times for datetime-local inputs."""
    local = lambda v: v[:16] if v else ""  # noqa: E731  (answers are already Beijing time)
    rule = detail.get("eligibility") or {}
    return {
        **detail,
        **{k: local(detail.get(k)) for k in ("starts_at", "ends_at")},
        **{k: local(detail.get(k)) for k in ("signup_opens_at", "signup_closes_at")},
        "waitlist": "on" if detail.get("waitlist") else "off",
        "gender": rule.get("gender"),
        "retired": "retired" in (rule.get("statuses") or []),
    }


@router.get("/activities/{activity_id}/edit")
async def edit_activity(visit: StaffVisit, activity_id: ActivityId) -> Response:
    """The form to change an activity; role: cadre of its campus."""
    detail = await visit.get("events", f"/activities/{activity_id}")
    return visit.render(
        "admin/activity_form.html",
        a=form_values(detail),
        kinds=KINDS,
        error=None,
        editing=activity_id,
        section="activities",
    )


@router.post("/activities/{activity_id}/edit")
async def change_activity(visit: StaffVisit, activity_id: ActivityId) -> Response:
    """Change an activity (registrants are told of a new time or venue); role: cadre."""
    form = dict(await visit.request.form())
    try:
        body = activity_body(form)
        for fixed in ("kind", "campus"):
            body.pop(fixed, None)
        await visit.api("events", "PATCH", f"/activities/{activity_id}", json=body)
    except (ApiError, ValueError) as exc:
        if isinstance(exc, ApiError) and exc.status not in (409, 422):
            raise
        return visit.render(
            "admin/activity_form.html",
            status_code=409,
            a=form,
            kinds=KINDS,
            error=exc.message if isinstance(exc, ApiError) else "名额与家属人数须为整数",
            editing=activity_id,
            section="activities",
        )
    return redirect(f"/admin/activities/{activity_id}?msg=changed")


@router.get("/activities/{activity_id}")
async def activity(visit: StaffVisit, activity_id: ActivityId, msg: str | None = None) -> Response:
    """An activity: its state, registrations, waitlist and attendance; role: cadre."""
    return await activity_view(visit, activity_id, flash=msg)


async def activity_view(
    visit: Visit, activity_id: str, *, flash: str | None = None, error: str | None = None
) -> Response:
    detail, regs, stats = await asyncio.gather(
        visit.get("events", f"/activities/{activity_id}"),
        visit.get("events", f"/activities/{activity_id}/registrations", params={"limit": 500}),
        optional(visit.get("events", f"/activities/{activity_id}/attendance")),
    )
    items = regs["items"]
    return visit.render(
        "admin/activity.html",
        status_code=409 if error else 200,
        a=detail,
        confirmed=[r for r in items if r["status"] == "confirmed"],
        waiting=[r for r in items if r["status"] == "waitlisted"],
        cancelled=[r for r in items if r["status"] == "cancelled"],
        stats=stats,
        flash={
            "publish": "已发布",
            "cancel": "活动已取消",
            "close": "已截止报名",
            "added": "已添加",
            "removed": "已移除",
            "changed": "已保存修改",
        }.get(flash or ""),
        error=error,
        started=datetime.fromisoformat(detail["starts_at"]) <= utcnow(),
        section="activities",
    )


@router.get("/activities/{activity_id}/registrations.csv")
async def export_registrations(visit: StaffVisit, activity_id: ActivityId) -> Response:
    """Registrations and attendance as CSV (events audits the export); role: cadre."""
    found = await visit.get("events", f"/activities/{activity_id}/registrations.csv", raw=True)
    return Response(
        found.content,
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": found.headers.get("content-disposition", "attachment"),
            "Cache-Control": "no-store",
        },
    )


@router.post("/activities/{activity_id}/{step}")
async def activity_step(
    visit: StaffVisit,
    activity_id: ActivityId,
    step: Annotated[str, Path(pattern=r"^(publish|close|cancel)$")],
    reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """发布 / 截止报名 / 取消 (with a reason); role: cadre of its campus."""
    body = {"reason": reason.strip() or "工会安排调整"} if step == "cancel" else None
    try:
        await visit.post("events", f"/activities/{activity_id}/{step}", json=body)
    except ApiError as exc:
        if exc.status not in (409, 422):
            raise
        return await activity_view(visit, activity_id, error=exc.message)
    return redirect(f"/admin/activities/{activity_id}?msg={step}")


@router.post("/activities/{activity_id}/registrations/add")
async def add_registration(
    visit: StaffVisit,
    activity_id: ActivityId,
    member_id: Annotated[str, Form(max_length=64)] = "",
    guests: Annotated[int, Form(ge=0, le=10)] = 0,
) -> Response:
    """Add a member to the activity (a cadre's sign-up for them); role: cadre."""
    try:
        await visit.post(
            "events",
            f"/activities/{activity_id}/registrations",
            json={"member_id": member_id.strip(), "guests": guests},
        )
    except ApiError as exc:
        if exc.status not in (404, 409, 422):
            raise
        return await activity_view(visit, activity_id, error=exc.message)
    return redirect(f"/admin/activities/{activity_id}?msg=added")


@router.post("/activities/{activity_id}/registrations/{member_id}/remove")
async def remove_registration(
    visit: StaffVisit, activity_id: ActivityId, member_id: MemberId
) -> Response:
    """移除 a registration (its seats go to the waitlist); role: cadre."""
    try:
        await visit.post("events", f"/activities/{activity_id}/registrations/{member_id}/cancel")
    except ApiError as exc:
        if exc.status != 409:
            raise
        return await activity_view(visit, activity_id, error=exc.message)
    return redirect(f"/admin/activities/{activity_id}?msg=removed")
