"""A member's phone pages under /m: 我的, activities, my registrations, my QR, inbox, profile.

Each page is a few calls to members, events and notify made at once (asyncio.gather), as the
signed-in member (their own token: the services decide what they may see).
"""

from __future__ import annotations

import asyncio
import base64
from collections import OrderedDict
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Query
from fastapi.responses import Response

from services.web.backend import ApiError
from services.web.context import MemberVisit, Visit, redirect
from services.web.filters import month_of
from shared.timeutil import SHANGHAI, utcnow
from shared.vocabulary.events import ActivityKind
from shared.vocabulary.members import CareStatus, MemberStatus

router = APIRouter(prefix="/m")

ActivityId = Annotated[str, Path(pattern=r"^a-[0-9a-f]{12}$")]
NoticeId = Annotated[str, Path(max_length=200, pattern=r"^[^\x00-\x1f\x7f/]+$")]
KINDS = ActivityKind.labels()  # the filter's choices
FLASH = {
    "signed": "报名成功",
    "waitlisted": "名额已满，您已进入候补名单",
    "cancelled": "已取消报名",
    "contact": "联系方式已保存；新邮箱须打开发往该邮箱的确认链接后生效",
    "email": "新邮箱已确认，今后的通知和登录链接发往该邮箱",
    "children": "子女信息已确认",
}


async def optional(call: Any) -> Any:
    """A call whose 404 means "none" (no registration yet, no answer yet)."""
    try:
        return await call
    except ApiError as exc:
        if exc.status == 404:
            return None
        raise


async def none() -> None:
    """What `optional(...)` stands in for in a gather when there is nothing to read."""
    return None


def as_written(items: list[dict[str, Any]], item: dict[str, Any] | None) -> list[dict[str, Any]]:
    """`items` (a list view, which catches up within a second) with `item` as just written:
    the page after a change shows it, not the view's older copy or nothing."""
    if item is None:
        return items
    if any(i["id"] == item["id"] for i in items):
        return [item if i["id"] == item["id"] else i for i in items]
    return [item, *items]


async def unread_count(visit: Visit) -> int:
    return int((await visit.get("notify", "/inbox/unread-count"))["unread"])


@router.get("")
async def home(visit: MemberVisit, msg: str | None = None) -> Response:
    """我的: status, upcoming activities, unread notices, what waits for me; role: member."""
    me, registrations, unread, rounds = await asyncio.gather(
        visit.get("members", f"/members/{visit.member_id}"),
        visit.get("events", "/me/registrations"),
        unread_count(visit),
        optional(visit.get("members", "/childcare/rounds", params={"limit": 20})),
    )
    upcoming = [r for r in registrations if not r["past"] and r["status"] != "cancelled"]
    waiting: list[dict[str, str]] = []
    for round_ in (rounds or {}).get("items", []):
        if round_["status"] == "open" and round_["campus"] == me["campus"]:
            answer = await optional(
                visit.get("members", f"/childcare/rounds/{round_['id']}/answer")
            )
            if answer is None:
                waiting.append({"text": f"请填写「{round_['title']}」", "href": "/m/profile"})
    return visit.render(
        "m/home.html",
        me=me,
        status=MemberStatus.label_of(me["status"]),
        upcoming=upcoming[:5],
        unread=unread,
        waiting=waiting,
        flash=FLASH.get(msg or ""),
        tab="home",
    )


@router.get("/activities")
async def activities(
    visit: MemberVisit,
    kind: Annotated[str | None, Query(max_length=32)] = None,
    campus: Annotated[str | None, Query(max_length=32)] = None,
) -> Response:
    """活动: the coming activities by month, with my status on each; role: member."""
    kind = kind if kind in KINDS else None
    since = (utcnow() - timedelta(days=1)).astimezone(SHANGHAI).replace(tzinfo=None)
    page, mine, _ = await asyncio.gather(
        visit.get(
            "events",
            "/activities",
            params={
                "starts_from": since.isoformat(timespec="minutes"),
                "kind": kind,
                "campus": campus or None,
                "limit": 200,
            },
        ),
        visit.get("events", "/me/registrations"),
        visit.org(),
    )
    status = {r["activity_id"]: r for r in mine if r["status"] != "cancelled"}
    months: OrderedDict[str, list[dict[str, Any]]] = OrderedDict()
    campuses: set[str] = set()
    for activity in page["items"]:
        campuses.add(activity["campus"])
        months.setdefault(month_of(activity["starts_at"]), []).append(activity)
    return visit.render(
        "m/activities.html",
        months=months,
        mine=status,
        kinds=KINDS,
        kind=kind,
        campus=campus,
        campuses=sorted(campuses),
        tab="activities",
    )


def seats_left(activity: dict[str, Any]) -> int | None:
    if activity.get("capacity") is None or activity.get("seats_taken") is None:
        return None
    return max(0, activity["capacity"] - activity["seats_taken"])


def signup_state(activity: dict[str, Any], now: datetime) -> str | None:
    """Why the sign-up button is not there (None: it is)."""
    starts = datetime.fromisoformat(activity["starts_at"])
    opens = activity.get("signup_opens_at")
    closes = activity.get("signup_closes_at") or activity["starts_at"]
    if activity["status"] != "published":
        return f"活动{activity['status_label']}，不能报名"
    if now >= starts or now >= datetime.fromisoformat(closes):
        return "报名已截止"
    if opens and now < datetime.fromisoformat(opens):
        return "报名尚未开始"
    return None


@router.get("/activities/{activity_id}")
async def activity(visit: MemberVisit, activity_id: ActivityId, msg: str | None = None) -> Response:
    """An activity: what, when, where, who may come and why I can or cannot; role: member."""
    return await activity_page(visit, activity_id, flash=FLASH.get(msg or ""))


async def activity_page(
    visit: Visit,
    activity_id: str,
    *,
    flash: str | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    detail, mine, eligibility, _ = await asyncio.gather(
        visit.get("events", f"/activities/{activity_id}"),
        optional(visit.get("events", f"/activities/{activity_id}/registrations/{visit.member_id}")),
        optional(visit.get("events", f"/activities/{activity_id}/eligibility")),
        visit.org(),
    )
    cancelled = mine if mine and mine["status"] == "cancelled" else None
    if cancelled:
        mine = None
    now = utcnow()
    closes = detail.get("signup_closes_at") or detail["starts_at"]
    return visit.render(
        "m/activity.html",
        status_code=status_code,
        a=detail,
        mine=mine,
        cancelled=cancelled,
        eligibility=eligibility,
        left=seats_left(detail),
        closed=signup_state(detail, now),
        may_cancel=now < datetime.fromisoformat(closes),
        flash=flash,
        error=error,
        tab="activities",
    )


@router.post("/activities/{activity_id}/signup")
async def sign_up(
    visit: MemberVisit, activity_id: ActivityId, guests: Annotated[int, Form(ge=0, le=10)] = 0
) -> Response:
    """报名 with family guests; role: member."""
    try:
        done = await visit.post(
            "events", f"/activities/{activity_id}/registrations", json={"guests": guests}
        )
    except ApiError as exc:
        if exc.status != 409:
            raise
        return await refused(visit, activity_id, exc.message)
    flash = "waitlisted" if done["status"] == "waitlisted" else "signed"
    return redirect(f"/m/activities/{activity_id}?msg={flash}")


async def refused(visit: Visit, activity_id: str, message: str) -> Response:
    """The activity again with what stopped the member, in plain words (409)."""
    return await activity_page(visit, activity_id, error=message, status_code=409)


@router.post("/activities/{activity_id}/cancel")
async def cancel(visit: MemberVisit, activity_id: ActivityId) -> Response:
    """取消报名 before the deadline; role: member."""
    try:
        await visit.post(
            "events", f"/activities/{activity_id}/registrations/{visit.member_id}/cancel"
        )
    except ApiError as exc:
        if exc.status != 409:
            raise
        return await refused(visit, activity_id, exc.message)
    return redirect(f"/m/activities/{activity_id}?msg=cancelled")


@router.get("/activities/{activity_id}/qr")
async def qr(visit: MemberVisit, activity_id: ActivityId) -> Response:
    """My check-in QR, large; the image is inside the page (a data URI), so the page works
    offline once it has loaded (at the door, in a basement hall); role: member."""
    path = f"/activities/{activity_id}/registrations/{visit.member_id}"
    detail, mine = await asyncio.gather(
        visit.get("events", f"/activities/{activity_id}"), visit.get("events", path)
    )
    image = None
    if mine["status"] == "confirmed":
        png = await visit.get("events", f"{path}/qr.png", raw=True)
        image = "data:image/png;base64," + base64.b64encode(png.content).decode()
    return visit.render("m/qr.html", a=detail, mine=mine, image=image, tab="registrations")


@router.get("/registrations")
async def registrations(visit: MemberVisit) -> Response:
    """我的报名: future first, then past; role: member."""
    mine = await visit.get("events", "/me/registrations")
    return visit.render(
        "m/registrations.html",
        future=[r for r in mine if not r["past"]],
        past=[r for r in mine if r["past"]],
        tab="registrations",
    )


INBOX_PAGE = 20


@router.get("/inbox")
async def inbox(
    visit: MemberVisit, page: Annotated[int, Query(ge=0, le=1000)] = 0, msg: str | None = None
) -> Response:
    """消息: unread first, newest first within each, a page at a time; role: member."""
    params = {"unread_first": "true", "limit": INBOX_PAGE + 1, "offset": page * INBOX_PAGE}
    notices, total = await asyncio.gather(
        visit.get("notify", "/inbox", params=params), unread_count(visit)
    )
    shown = notices[:INBOX_PAGE]
    return visit.render(
        "m/inbox.html",
        unread=[n for n in shown if not n["read"]],
        read=[n for n in shown if n["read"]],
        unread_total=total,
        page=page,
        more=len(notices) > INBOX_PAGE,
        flash="全部消息已标为已读" if msg == "allread" else None,
        tab="inbox",
    )


@router.get("/inbox/{notice_id}")
async def notice(visit: MemberVisit, notice_id: NoticeId) -> Response:
    """One notice; opening it marks it read; role: member."""
    found = await visit.api("notify", "PATCH", f"/inbox/{notice_id}/read")
    return visit.render("m/notice.html", n=found, tab="inbox")


@router.post("/inbox/{notice_id}/read")
async def mark_read(visit: MemberVisit, notice_id: NoticeId) -> Response:
    """Mark a notice read without opening it; role: member."""
    await visit.api("notify", "PATCH", f"/inbox/{notice_id}/read")
    return redirect("/m/inbox")


@router.get("/profile")
async def profile(visit: MemberVisit, msg: str | None = None) -> Response:
    """我的资料: my record, contact details I may change, children when a round is open;
    role: member."""
    return await profile_page(visit, flash=FLASH.get(msg or ""))


async def profile_page(
    visit: Visit, *, flash: str | None = None, error: str | None = None, status_code: int = 200
) -> Response:
    me, rounds, _ = await asyncio.gather(
        visit.get("members", f"/members/{visit.member_id}"),
        optional(visit.get("members", "/childcare/rounds", params={"limit": 20})),
        visit.org(),
    )
    open_round = next(
        (
            r
            for r in (rounds or {}).get("items", [])
            if r["status"] == "open" and r["campus"] == me["campus"]
        ),
        None,
    )
    children = None
    answer = None
    if open_round is not None:
        children, answer = await asyncio.gather(
            visit.get("members", f"/members/{visit.member_id}/children"),
            optional(visit.get("members", f"/childcare/rounds/{open_round['id']}/answer")),
        )
    listed = (children or {}).get("children", [])
    return visit.render(
        "m/profile.html",
        status_code=status_code,
        me=me,
        status=MemberStatus.label_of(me["status"]),
        round=open_round,
        children=listed,
        rows=[*listed, *[{}] * CHILD_ROWS][:CHILD_ROWS],
        care=CARE,
        answer=answer,
        flash=flash,
        error=error,
        tab="home",
    )


@router.post("/profile/contact")
async def contact(
    visit: MemberVisit,
    phone: Annotated[str, Form(max_length=32)] = "",
    email: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    """Save my phone and e-mail; role: member."""
    try:
        await visit.api(
            "members",
            "PATCH",
            f"/members/{visit.member_id}/contact",
            json={"phone": phone, "email": email},
        )
    except ApiError as exc:
        if exc.status not in (409, 422):
            raise
        return await profile_page(visit, error=exc.message, status_code=exc.status)
    return redirect("/m/profile?msg=contact")


@router.get("/contact/confirm")
async def confirm_email_page(visit: MemberVisit) -> Response:
    """The e-mailed confirmation link lands here, signed in; its token is in the fragment,
    read by the page's script and posted; role: member."""
    return visit.render("m/confirm_email.html", error=None, tab="home")


@router.post("/contact/confirm")
async def confirm_email(
    visit: MemberVisit, token: Annotated[str, Form(max_length=100)] = ""
) -> Response:
    """Confirm my new e-mail with the link's token; role: member (themself)."""
    try:
        await visit.api(
            "members", "POST", f"/members/{visit.member_id}/email/confirm", json={"token": token}
        )
    except ApiError as exc:
        if exc.status != 422:
            raise
        return visit.render("m/confirm_email.html", error=exc.message, tab="home", status_code=422)
    return redirect("/m/profile?msg=email")


CARE = CareStatus.labels()
CHILD_ROWS = 4


def children_of(form: Any) -> list[dict[str, Any]]:
    """The children the form states (rows without a name are empty rows)."""
    out = []
    for i in range(CHILD_ROWS):
        name = str(form.get(f"name_{i}") or "").strip()
        if not name:
            continue
        care = str(form.get(f"care_{i}") or "none")
        out.append(
            {
                "name": name,
                "birth_date": str(form.get(f"birth_{i}") or "").strip(),
                "care_status": care if care in CARE else "none",
                "institution": str(form.get(f"institution_{i}") or "").strip() or None,
            }
        )
    return out


@router.post("/profile/children/{round_id}")
async def confirm_children(
    visit: MemberVisit, round_id: Annotated[str, Path(pattern=r"^[A-Za-z0-9._-]{1,80}$")]
) -> Response:
    """Answer the open childcare round: confirm my children as recorded, or state them anew
    (the rows of the form) and confirm; role: member."""
    form = await visit.request.form()
    body: dict[str, Any] = {}
    if form.get("restate") == "1":
        body["children"] = children_of(form)
    try:
        await visit.api("members", "PUT", f"/childcare/rounds/{round_id}/answer", json=body)
    except ApiError as exc:
        if exc.status not in (409, 422):
            raise
        return await profile_page(visit, error=exc.message, status_code=exc.status)
    return redirect("/m/profile?msg=children")
