"""The check-in desk (签到台): a page a cadre opens on a phone at the door.

The camera reads the member's QR with the browser's BarcodeDetector where it exists; the
code can always be typed. Each code is one htmx POST whose answer is a big panel: green
已签到, red 不是本活动的签到码 (or another reason the code does not work here), yellow when
the member was already checked in, saying when and by whom. Colour is never the only cue:
each answer has its own icon and words.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Form, Path
from fastapi.responses import Response

from services.web.backend import ApiError
from services.web.context import StaffVisit, Visit

router = APIRouter(prefix="/admin")

ActivityId = Annotated[str, Path(pattern=r"^a-[0-9a-f]{12}$")]
CODE = re.compile(r"^[ABCDEFGHJKMNPQRSTUVWXYZ23456789]{6}$")
RED = {
    "checkin.other_activity": "不是本活动的签到码",
    "checkin.unknown_code": "不是本活动的签到码",
    "checkin.code_void": "签到码已失效（报名已取消）",
    "checkin.not_running": "活动未在进行，不能签到",
}


@router.get("/activities/{activity_id}/desk")
async def desk(visit: StaffVisit, activity_id: ActivityId) -> Response:
    """签到台: scan or type a code, or tick a name; role: cadre of the activity's campus."""
    detail = await visit.get("events", f"/activities/{activity_id}")
    regs = await visit.get(
        "events",
        f"/activities/{activity_id}/registrations",
        params={"status": "confirmed", "limit": 500},
    )
    return visit.render("admin/desk.html", a=detail, regs=regs["items"], section="activities")


@router.post("/activities/{activity_id}/desk/checkin")
async def check_in(
    visit: StaffVisit, activity_id: ActivityId, code: Annotated[str, Form(max_length=64)] = ""
) -> Response:
    """One code at the door: the green / red / yellow answer panel; role: cadre."""
    typed = code.strip().upper().replace(" ", "")
    if not CODE.match(typed):
        return answer(visit, "red", "不是本活动的签到码", f"「{code.strip()}」不是签到码")
    try:
        done = await visit.post(
            "events", f"/activities/{activity_id}/checkins", json={"code": typed}
        )
    except ApiError as exc:
        if exc.code == "checkin.already":
            return answer(visit, "yellow", exc.message, "请勿重复签到")
        if exc.code in RED:
            return answer(visit, "red", RED[exc.code], exc.message)
        if exc.status in (404, 409, 422):
            return answer(visit, "red", "不能签到", exc.message)
        raise
    guests = f"，同行家属 {done['guests']} 人" if done.get("guests") else ""
    detail = f"{done['name']}（{done['department']}）{guests}"
    return answer(visit, "green", "已签到", detail, done)


def answer(
    visit: Visit, tone: str, title: str, detail: str, done: dict[str, Any] | None = None
) -> Response:
    """The answer panel; a green one also ticks the member's row in the list (out of band)."""
    return visit.render("admin/_desk_answer.html", tone=tone, title=title, detail=detail, done=done)
