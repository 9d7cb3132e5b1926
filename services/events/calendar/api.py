"""Calendar routes: the public per-campus iCalendar feed and, for cadres, its URL."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response
from pydantic import BaseModel, Field

from services.events.activities.api import Catalog
from services.events.calendar.domain import TOKEN_TEXT
from services.events.calendar.handlers import campus_feed, feed_path
from services.events.deps import Cadre, Directory
from services.events.plans.api import Plans
from services.events.plans.domain import SCOPE_TEXT
from shared.auth import CurrentUser
from shared.problems import PROBLEM_RESPONSES

router = APIRouter(tags=["日历 calendar"])

Campus = Annotated[
    str, Path(max_length=32, pattern=SCOPE_TEXT, description="校区代码；* 为全校日历")
]
ICS = "text/calendar; charset=utf-8"


@router.get(
    "/calendar/{campus}/{token}.ics",
    response_class=Response,
    responses={
        200: {"content": {"text/calendar": {"schema": {"type": "string"}}}},
        404: PROBLEM_RESPONSES[404],
        422: PROBLEM_RESPONSES[422],
    },
)
async def calendar_feed(
    campus: Campus,
    token: Annotated[str, Path(pattern=TOKEN_TEXT, description="订阅令牌（由工会干部告知）")],
    request: Request,
    plans: Plans,
    catalog: Catalog,
) -> Response:
    """The campus's iCalendar feed (its plan's months and its published activities) for phone
    calendars to subscribe to; public: the token in the URL is the credential (404 when wrong)."""
    secret = request.app.state.runtime.context.calendar_secret
    body = await campus_feed(campus, token, secret, plans, catalog)
    return Response(
        body,
        media_type=ICS,
        headers={"Cache-Control": "private, max-age=300", "X-Robots-Tag": "noindex"},
    )


class FeedLink(BaseModel):
    campus: str
    url: str = Field(description="订阅地址（https 或 http）")
    webcal: str = Field(description="webcal:// 地址：手机点开即订阅")


@router.get("/calendar/{campus}/feed", responses=PROBLEM_RESPONSES)
async def calendar_feed_url(campus: Campus, request: Request, user: Cadre) -> FeedLink:
    """The subscription URL of a campus's calendar, to hand to its members; role: cadre of the
    campus (the school-wide `*` feed: of the whole school)."""
    user.require_campus(campus)
    context = request.app.state.runtime.context
    base = context.calendar_base_url.rstrip("/") or str(request.base_url).rstrip("/")
    url = base + feed_path(context.calendar_secret, campus)
    webcal = "webcal://" + url.split("://", 1)[1]
    return FeedLink(campus=campus, url=url, webcal=webcal)


def _link(request: Request, campus: str) -> FeedLink:
    context = request.app.state.runtime.context
    base = context.calendar_base_url.rstrip("/") or str(request.base_url).rstrip("/")
    url = base + feed_path(context.calendar_secret, campus)
    return FeedLink(campus=campus, url=url, webcal="webcal://" + url.split("://", 1)[1])


@router.get("/me/calendar", responses=PROBLEM_RESPONSES)
async def my_calendar_feed(request: Request, directory: Directory, user: CurrentUser) -> FeedLink:
    """订阅活动日历: the feed of my campus (its activities, the school's and the plan's
    months), to add to a phone's calendar; role: any signed-in user (a member's campus is
    theirs in the directory, else the token's first)."""
    member = await directory.get(user.subject)
    campus = (member or {}).get("campus") or min(user.campuses - {"*"}, default="*")
    return _link(request, campus)
