"""A member's notification pages under /m: mark every message read, 我的通知设置 (channels per
category, quiet hours). The inbox itself is in `member.py`; notify decides what is whose."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from services.web.backend import ApiError
from services.web.context import MemberVisit, redirect

router = APIRouter(prefix="/m")

MANDATORY_NOTE = "活动取消、登录链接等必须送达的通知不受此设置影响。"


@router.post("/inbox/read-all")
async def mark_all_read(visit: MemberVisit) -> Response:
    """Mark every message of mine read; role: member."""
    await visit.post("notify", "/inbox/read-all")
    return redirect("/m/inbox?msg=allread")


@router.get("/settings/notifications")
async def settings_page(visit: MemberVisit, msg: str | None = None) -> Response:
    """我的通知设置: channels per category, quiet hours; role: member."""
    current = await visit.get("notify", "/me/notification-settings")
    flash = "通知设置已保存" if msg == "saved" else None
    return render(visit, current, flash=flash)


def render(
    visit: MemberVisit, current: dict, *, flash: str | None = None, error: str | None = None
) -> Response:
    chosen = current["channels"]
    every = list(current["channel_names"])
    wanted = {cat: chosen.get(cat, every) for cat in current["categories"]}
    return visit.render(
        "m/notification_settings.html",
        status_code=422 if error else 200,
        s=current,
        wanted=wanted,
        note=MANDATORY_NOTE,
        flash=flash,
        error=error,
        tab="inbox",
    )


@router.post("/settings/notifications")
async def save_settings(visit: MemberVisit) -> Response:
    """Save my notification settings; role: member."""
    form = await visit.request.form()
    current = await visit.get("notify", "/me/notification-settings")
    channels = {
        cat: [str(c) for c in form.getlist(f"ch_{cat}") if c in current["channel_names"]]
        for cat in current["categories"]
    }
    body = {
        "channels": channels,
        "quiet_hours": {
            "enabled": form.get("quiet_enabled") == "on",
            "start": str(form.get("quiet_start") or "22:00")[:5],
            "end": str(form.get("quiet_end") or "07:00")[:5],
        },
    }
    try:
        await visit.api("notify", "PUT", "/me/notification-settings", json=body)
    except ApiError as exc:
        if exc.status != 422:
            raise
        return render(visit, current, error="免打扰时间请按「时:分」填写，如 22:00")
    return redirect("/m/settings/notifications?msg=saved")
