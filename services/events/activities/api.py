"""Activity routes: each turns a request into a command or a scoped query."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, status
from pydantic import BaseModel, Field

from services.events.activities.domain import (
    ActivityKind,
    ActivityStatus,
    DraftActivity,
    EditActivity,
    Eligibility,
)
from services.events.activities.handlers import decision, draft_activity, edit_activity, step
from services.events.activities.store import ActivityCatalog, ActivityFilter, visible_scope
from services.events.deps import Cadre
from shared.auth import CurrentUser
from shared.problems import PROBLEM_RESPONSES
from shared.public import LocalDatetime, PublicModel
from shared.runtime import provided
from shared.text import VISIBLE_TEXT
from shared.timeutil import Moment, in_range, to_utc

Catalog = Annotated[ActivityCatalog, Depends(provided("catalog"))]

router = APIRouter(responses=PROBLEM_RESPONSES, tags=["活动 activities"])

ACTIVITY_ID = r"^a-[0-9a-f]{12}$"
ActivityId = Annotated[str, Path(pattern=ACTIVITY_ID, description="活动编号，如 a-3f2a9c0d1e2b")]
MAX_OFFSET = 1_000_000


class ActivityPublic(PublicModel):
    id: str
    version: int = Field(description="活动记录版本（每次变更加一）")
    kind: ActivityKind
    kind_label: str = Field(description="活动类型（中文）")
    title: str
    description: str
    campus: str = Field(description="校区代码；* 为全校活动")
    venue: str
    starts_at: LocalDatetime = Field(description="开始（北京时间）")
    ends_at: LocalDatetime = Field(description="结束（北京时间）")
    signup_opens_at: LocalDatetime | None = Field(
        description="报名开始（北京时间）；空为发布即开始"
    )
    signup_closes_at: LocalDatetime | None = Field(description="报名截止（北京时间）；空为活动开始")
    capacity: int | None = Field(description="名额（含家属）；空为不限")
    waitlist: bool
    guests_max: int
    eligibility: Eligibility
    status: ActivityStatus
    status_label: str
    ref: str | None
    published_at: LocalDatetime | None
    cancel_reason: str | None


class ActivityDetail(ActivityPublic):
    seats_taken: int | None = Field(description="已确认占用的名额（含家属）；不限名额时为空")
    waiting: int = Field(description="候补人数")


class ActivityPage(BaseModel):
    items: list[ActivityPublic]
    total: int
    limit: int
    offset: int


def activity_filter(
    status_: Annotated[ActivityStatus | None, Query(alias="status")] = None,
    kind: ActivityKind | None = None,
    campus: Annotated[
        str | None, Query(max_length=32, pattern=r"^(\*|[a-z][a-z0-9-]{0,31})$")
    ] = None,
    starts_from: Annotated[Moment | None, Query(description="开始时间不早于")] = None,
    starts_before: Annotated[Moment | None, Query(description="开始时间早于")] = None,
) -> ActivityFilter:
    # Out-of-range moments match nothing sensible; they are ignored rather than refused.
    lower = to_utc(starts_from) if starts_from and in_range(starts_from, 1901, 2199) else None
    upper = to_utc(starts_before) if starts_before and in_range(starts_before, 1901, 2199) else None
    return ActivityFilter(status_, kind, campus, lower, upper)


Filter = Annotated[ActivityFilter, Depends(activity_filter)]


# OpenAPI links: what a client (and the schemathesis run) can do with a new activity's id.
LINKS: dict[int | str, dict[str, Any]] = {
    201: {
        "links": {
            name: {
                "operationId": operation,
                "parameters": {"activity_id": "$response.body#/id"},
            }
            for name, operation in {
                "GetActivity": "get_activity_activities__activity_id__get",
                "ChangeActivity": "change_activity_activities__activity_id__patch",
                "Publish": "publish_activities__activity_id__publish_post",
                "Close": "close_activities__activity_id__close_post",
                "Complete": "complete_activities__activity_id__complete_post",
                "Cancel": "cancel_activities__activity_id__cancel_post",
                "SignUp": "sign_up_activities__activity_id__registrations_post",
                "Registrations": "list_registrations_activities__activity_id__registrations_get",
                "CheckIn": "check_in_activities__activity_id__checkins_post",
                "WalkIn": "walk_in_activities__activity_id__walkins_post",
                "Attendance": "activity_attendance_activities__activity_id__attendance_get",
                "History": "activity_history_activities__activity_id__history_get",
                "SetUpMeet": "set_up_activities__activity_id__meet_post",
                "GetMeet": "get_meet_activities__activity_id__meet_get",
            }.items()
        }
    }
}


@router.post("/activities", status_code=status.HTTP_201_CREATED, responses=LINKS)
async def create_activity(body: DraftActivity, catalog: Catalog, user: Cadre) -> ActivityPublic:
    """Draft an activity (草稿); role: cadre of its campus (school-wide: of `*`)."""
    return ActivityPublic.of(await draft_activity(body, catalog, user))


@router.get("/activities")
async def list_activities(
    catalog: Catalog,
    user: CurrentUser,
    filters: Filter,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> ActivityPage:
    """Activities in order of their start: a member sees the published ones of their campus
    and the school's, a cadre also the drafts of theirs; role: any signed-in user."""
    items, total = await catalog.page(filters.query(visible_scope(user)), limit, offset)
    return ActivityPage(
        items=[ActivityPublic.of(a) for a in items], total=total, limit=limit, offset=offset
    )


@router.patch("/activities/{activity_id}")
async def change_activity(
    activity_id: ActivityId, body: EditActivity, catalog: Catalog, user: Cadre
) -> ActivityPublic:
    """Change an activity (only the fields sent); a published one's registrants are told of a
    new time or venue; role: cadre of its campus."""
    return ActivityPublic.of(await edit_activity(activity_id, body, catalog, user))


@router.post("/activities/{activity_id}/publish")
async def publish(activity_id: ActivityId, catalog: Catalog, user: Cadre) -> ActivityPublic:
    """发布 (draft → published): eligible members may sign up; role: cadre of its campus."""
    return ActivityPublic.of(await step(catalog, activity_id, "publish", decision("publish"), user))


@router.post("/activities/{activity_id}/close")
async def close(activity_id: ActivityId, catalog: Catalog, user: Cadre) -> ActivityPublic:
    """截止报名 (published → registration_closed); role: cadre of its campus."""
    return ActivityPublic.of(await step(catalog, activity_id, "close", decision("close"), user))


@router.post("/activities/{activity_id}/complete")
async def complete(activity_id: ActivityId, catalog: Catalog, user: Cadre) -> ActivityPublic:
    """结束活动 (after it started); role: cadre of its campus."""
    return ActivityPublic.of(
        await step(catalog, activity_id, "complete", decision("complete"), user)
    )


class Cancellation(BaseModel):
    reason: str = Field(max_length=500, pattern=VISIBLE_TEXT, description="取消原因（告知报名者）")


@router.post("/activities/{activity_id}/cancel")
async def cancel(
    activity_id: ActivityId, body: Cancellation, catalog: Catalog, user: Cadre
) -> ActivityPublic:
    """取消活动 with a reason, from any open state; every registration is cancelled; role:
    cadre of its campus."""
    return ActivityPublic.of(
        await step(catalog, activity_id, "cancel", decision("cancel", body.reason), user)
    )


class ChangePublic(PublicModel):
    version: int
    action: str
    by: str
    at: LocalDatetime = Field(description="北京时间")
    changed: dict[str, dict[str, Any]]
    events: list[str]


@router.get("/activities/{activity_id}/history")
async def activity_history(
    activity_id: ActivityId, catalog: Catalog, user: Cadre
) -> list[ChangePublic]:
    """Every recorded change of an activity (audit trail); role: cadre of its campus."""
    activity = await catalog.visible(activity_id, user)
    user.require_campus(activity.campus)
    return [ChangePublic.of(c) for c in await catalog.store.history(activity_id)]
