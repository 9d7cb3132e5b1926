"""通知公告 on the cadre desk, under /admin/notices: post a notice to a segment of a campus
(previewed first: the text as members will see it and how many it reaches), the notices of
my campuses, and each one's delivered / read counts per department as a chart drawn here
(inline SVG), refreshed while the page is open, with who has not read a mandatory one.
notify decides who may post where and what a cadre sees; members read notices in their inbox
(/m/inbox), and opening one marks it read."""

from __future__ import annotations

import asyncio
import re
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.responses import Response

from services.web.backend import ApiError
from services.web.context import StaffVisit, Visit, redirect
from shared.timeutil import SHANGHAI
from shared.vocabulary.members import Gender, UnionRole

router = APIRouter(prefix="/admin/notices")

AnnouncementId = Annotated[str, Path(pattern=r"^ann-[0-9a-f]{12}$")]
SPLIT = re.compile(r"[,，、;；\s]+")
CHART_LABEL_W = 130  # the department names' column of the chart
CHART_BAR_W = 320  # the longest bar
CHART_ROW_H = 26


def read_chart(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The geometry of the per-department chart: a grey bar per department for the notices
    delivered, the green part of it read; lengths relative to the largest department."""
    top = max((r["delivered"] for r in rows), default=0) or 1
    bars = []
    for i, r in enumerate(rows):
        delivered_w = round(CHART_BAR_W * r["delivered"] / top, 1)
        read_w = round(CHART_BAR_W * r["read"] / top, 1)
        percent = round(100 * r["read"] / r["delivered"]) if r["delivered"] else 0
        bars.append(
            {
                **r,
                "y": 4 + i * CHART_ROW_H,
                "delivered_w": delivered_w,
                "read_w": read_w,
                "percent": percent,
                "text_x": CHART_LABEL_W + delivered_w + 6,
            }
        )
    return {
        "bars": bars,
        "label_w": CHART_LABEL_W,
        "width": CHART_LABEL_W + CHART_BAR_W + 130,
        "height": 8 + CHART_ROW_H * len(rows),
    }


def body_of(form: Any) -> dict[str, Any]:
    """The notice the form describes (notify checks it)."""
    expires = str(form.get("expires_at") or "").strip()
    expires_at = None
    if expires:
        try:
            expires_at = datetime.fromisoformat(expires).replace(tzinfo=SHANGHAI).isoformat()
        except ValueError:
            expires_at = expires  # notify refuses it in its own words
    gender = str(form.get("gender") or "")
    return {
        "campus": str(form.get("campus") or "").strip(),
        "title": str(form.get("title") or "").strip(),
        "body": str(form.get("body") or "").strip(),
        "departments": [d for d in SPLIT.split(str(form.get("departments") or "")) if d],
        "gender": gender if gender in Gender.labels() else None,
        "roles": [str(r) for r in form.getlist("roles") if r in UnionRole.labels()],
        "small_groups": [str(g) for g in form.getlist("small_groups") if g],
        "mandatory": form.get("mandatory") == "on",
        "expires_at": expires_at,
    }


def form_of(body: dict[str, Any], expires: str = "") -> dict[str, Any]:
    return {**body, "departments": "、".join(body["departments"]), "expires_at": expires}


async def desk_view(
    visit: Visit,
    *,
    form: dict[str, Any] | None = None,
    preview: dict[str, Any] | None = None,
    error: str | None = None,
    flash: str | None = None,
) -> Response:
    notices, org = await asyncio.gather(
        visit.get("notify", "/announcements", params={"limit": 50}), visit.org()
    )
    assert visit.session is not None
    mine = visit.session.campuses
    campuses = [c for c in org.campuses if "*" in mine or c in mine]
    groups = [
        g
        for c in campuses
        for g in (org.campuses[c].get("small_groups") or ())
        if isinstance(g, dict) and g.get("code")
    ]
    blank = {"campus": campuses[0] if campuses else "", "roles": [], "small_groups": []}
    return visit.render(
        "admin/notices.html",
        status_code=422 if error else 200,
        notices=notices,
        campuses=campuses,
        school="*" in mine,
        groups=groups,
        genders=Gender.labels(),
        roles=UnionRole.labels(),
        form=form or blank,
        preview=preview,
        error=error,
        flash=flash,
        section="notices",
    )


@router.get("")
async def notices(visit: StaffVisit) -> Response:
    """The notices of my campuses and the form to post one; role: cadre."""
    return await desk_view(visit)


@router.post("/preview")
async def preview(visit: StaffVisit) -> Response:
    """The notice as members will see it and how many it reaches; nothing is sent; role:
    cadre of its campus."""
    form = await visit.request.form()
    body = body_of(form)
    shown = form_of(body, str(form.get("expires_at") or ""))
    try:
        seen = await visit.post("notify", "/announcement-previews", json=body)
    except ApiError as exc:
        if exc.status not in (403, 422):
            raise
        return await desk_view(visit, form=shown, error=exc.message)
    return await desk_view(visit, form=shown, preview=seen)


@router.post("")
async def post_notice(visit: StaffVisit) -> Response:
    """Post the notice: it is delivered right after; role: cadre of its campus."""
    form = await visit.request.form()
    body = body_of(form)
    try:
        made = await visit.post("notify", "/announcements", json=body)
    except ApiError as exc:
        if exc.status not in (403, 422):
            raise
        shown = form_of(body, str(form.get("expires_at") or ""))
        return await desk_view(visit, form=shown, error=exc.message)
    return redirect(f"/admin/notices/{made['id']}?msg=posted")


async def _detail(visit: Visit, announcement_id: str) -> dict[str, Any]:
    found = await visit.get("notify", f"/announcements/{announcement_id}")
    unread: list[dict[str, Any]] = []
    if found["mandatory"]:
        unread = await visit.get(
            "notify", f"/announcements/{announcement_id}/unread", params={"limit": 500}
        )
    return {"n": found, "unread": unread, "chart": read_chart(found["departments"])}


@router.get("/{announcement_id}")
async def notice(visit: StaffVisit, announcement_id: AnnouncementId, msg: str = "") -> Response:
    """One notice: its text, read counts per department (chart) and who has not read a
    mandatory one; role: cadre of its campus."""
    shown, _ = await asyncio.gather(_detail(visit, announcement_id), visit.org())
    flash = "通知已发布，正在分批送达" if msg == "posted" else None
    return visit.render("admin/notice.html", flash=flash, section="notices", **shown)


@router.get("/{announcement_id}/stats")
async def stats(visit: StaffVisit, announcement_id: AnnouncementId) -> Response:
    """The read counts part of the page, fetched again every few seconds; role: cadre of its
    campus."""
    shown, _ = await asyncio.gather(_detail(visit, announcement_id), visit.org())
    return visit.render("admin/_notice_stats.html", **shown)
