"""Notify on the cadre desk: failed deliveries with retry (/admin/deliveries, cadre) and the
notification templates with preview (/admin/templates; cadres read and preview, an admin saves
a campus's own wording). notify decides who sees what (the caller's campuses) and refuses a
template that names an unknown value or does not parse (422, with its line); the pages show
its words."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.responses import Response

from services.web.backend import ApiError
from services.web.context import StaffVisit, Visit, redirect

router = APIRouter(prefix="/admin")

DeliveryId = Annotated[str, Path(max_length=300, pattern=r"^[^\x00-\x1f\x7f/]+$")]
TemplateKey = Annotated[str, Path(pattern=r"^[a-z_]{1,40}$")]
CampusCode = Annotated[str, Path(pattern=r"^[a-z][a-z0-9-]{0,31}$")]
# notify's labels (ChannelName, DeliveryStatus), for the filter and the summary's headings.
CHANNELS = {"inbox": "站内信", "email": "电子邮件", "wecom": "企业微信", "sms": "短信"}
STATUSES = {
    "queued": "待发送",
    "sent": "已发送",
    "failed": "发送失败",
    "read": "已读",
    "skipped": "未发送",
}
NAME_LOOKUPS = 8  # concurrent calls to members for the names of the failed list
FLASH = {
    "retry": "已重新排队发送",
    "saved": "已保存本校区的通知文字",
    "reset": "已恢复默认文字",
}


# -- failed deliveries ------------------------------------------------------------------------


def summary_table(counts: list[dict[str, Any]]) -> dict[str, Any]:
    """The summary as a table: a row per channel that has deliveries, a column per status,
    with the totals."""
    cells: dict[tuple[str, str], int] = {(c["channel"], c["status"]): c["count"] for c in counts}
    channels = [ch for ch in CHANNELS if any((ch, s) in cells for s in STATUSES)]
    rows = [
        {
            "channel": CHANNELS[ch],
            "counts": [cells.get((ch, s), 0) for s in STATUSES],
            "total": sum(cells.get((ch, s), 0) for s in STATUSES),
        }
        for ch in channels
    ]
    totals = [sum(cells.get((ch, s), 0) for ch in channels) for s in STATUSES]
    return {
        "statuses": list(STATUSES.values()),
        "rows": rows,
        "totals": totals,
        "total": sum(totals),
    }


async def names_of(visit: Visit, member_ids: list[str]) -> dict[str, str]:
    """Members' names for the list (a member members will not show is left as their id);
    members has no lookup by many ids, so one call each, a few at a time."""
    gate = asyncio.Semaphore(NAME_LOOKUPS)

    async def one(member_id: str) -> str | None:
        async with gate:
            try:
                return str((await visit.get("members", f"/members/{member_id}"))["name"])
            except (ApiError, KeyError):
                return None

    ids = sorted(set(member_ids))
    found = await asyncio.gather(*(one(m) for m in ids))
    return {m: n for m, n in zip(ids, found, strict=True) if n}


async def deliveries_view(
    visit: Visit, channel: str | None, *, flash: str | None = None, error: str | None = None
) -> Response:
    failed, counts, _ = await asyncio.gather(
        visit.get(
            "notify",
            "/deliveries",
            params={"status": "failed", "channel": channel, "limit": 200},
        ),
        visit.get("notify", "/deliveries/summary"),
        visit.org(),
    )
    return visit.render(
        "admin/deliveries.html",
        status_code=409 if error else 200,
        failed=failed,
        names=await names_of(visit, [d["member_id"] for d in failed]),
        summary=summary_table(counts),
        channels=CHANNELS,
        channel=channel,
        flash=flash,
        error=error,
        section="deliveries",
    )


@router.get("/deliveries")
async def deliveries(visit: StaffVisit, channel: str | None = None, msg: str = "") -> Response:
    """发送失败的消息 with a retry button, and the counts per status and channel; role: cadre
    (their campuses)."""
    return await deliveries_view(
        visit, channel if channel in CHANNELS else None, flash=FLASH.get(msg)
    )


@router.post("/deliveries/{delivery_id}/retry")
async def retry(visit: StaffVisit, delivery_id: DeliveryId) -> Response:
    """Queue a failed delivery again; role: cadre of its campus."""
    try:
        await visit.post("notify", f"/deliveries/{delivery_id}/retry")
    except ApiError as exc:
        if exc.status != 409:
            raise
        return await deliveries_view(visit, None, error=exc.message)
    return redirect("/admin/deliveries?msg=retry")


# -- templates --------------------------------------------------------------------------------


@router.get("/templates")
async def templates(visit: StaffVisit) -> Response:
    """通知模板: every template with its label, variables and campus overrides; role: cadre."""
    listed, _ = await asyncio.gather(visit.get("notify", "/templates"), visit.org())
    return visit.render("admin/templates.html", templates=listed, section="templates")


def my_campuses(visit: Visit) -> list[str]:
    """The campuses an admin may word a template for (notify decides again)."""
    session = visit.session
    if session is None or "admin" not in session.roles:
        return []
    if "*" in session.campuses:
        return list(visit.known_org.campuses)
    return list(session.campuses)


async def template_view(
    visit: Visit,
    key: str,
    *,
    form: dict[str, str] | None = None,
    preview: dict[str, Any] | None = None,
    error: ApiError | None = None,
    flash: str | None = None,
) -> Response:
    found, _ = await asyncio.gather(visit.get("notify", f"/templates/{key}"), visit.org())
    campuses = my_campuses(visit)
    blank = {
        "campus": campuses[0] if campuses else "",
        "title": found["title"],
        "body": found["body"],
    }
    problem = error.problem if error else {}
    return visit.render(
        "admin/template.html",
        status_code=error.status if error else 200,
        t=found,
        campuses=campuses,
        form=form or blank,
        preview=preview,
        error=error.message if error else None,
        error_part=problem.get("part"),
        error_line=problem.get("line"),
        flash=flash,
        section="templates",
    )


@router.get("/templates/{key}")
async def template(visit: StaffVisit, key: TemplateKey, msg: str = "") -> Response:
    """One template: the default text, the campus overrides, the form to preview (cadre) and
    save a campus's wording (admin of the campus)."""
    return await template_view(visit, key, flash=FLASH.get(msg))


async def _form(visit: Visit) -> dict[str, str]:
    form = await visit.request.form()
    return {k: str(form.get(k) or "") for k in ("campus", "title", "body")}


@router.post("/templates/{key}/preview")
async def preview(visit: StaffVisit, key: TemplateKey) -> Response:
    """The wording rendered with the sample data, nothing saved; role: cadre."""
    form = await _form(visit)
    body = {"title": form["title"], "body": form["body"]}
    try:
        seen = await visit.post("notify", f"/templates/{key}/preview", json=body)
    except ApiError as exc:
        if exc.status != 422:
            raise
        return await template_view(visit, key, form=form, error=exc)
    return await template_view(visit, key, form=form, preview=seen)


@router.post("/templates/{key}/save")
async def save(visit: StaffVisit, key: TemplateKey) -> Response:
    """Save a campus's own wording once it validates; role: admin of the campus."""
    form = await _form(visit)
    body = {"title": form["title"], "body": form["body"]}
    campus = form["campus"] or "-"
    try:
        await visit.api("notify", "PUT", f"/templates/{key}/campuses/{campus}", json=body)
    except ApiError as exc:
        if exc.status not in (404, 422):
            raise
        return await template_view(visit, key, form=form, error=exc)
    return redirect(f"/admin/templates/{key}?msg=saved")


@router.post("/templates/{key}/campuses/{campus}/reset")
async def reset(visit: StaffVisit, key: TemplateKey, campus: CampusCode) -> Response:
    """Go back to the default wording on a campus; role: admin of the campus."""
    await visit.api("notify", "DELETE", f"/templates/{key}/campuses/{campus}")
    return redirect(f"/admin/templates/{key}?msg=reset")
