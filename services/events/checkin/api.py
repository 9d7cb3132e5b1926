"""Check-in and attendance routes: the door, the statistics and the CSV export."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from services.events.activities.api import ActivityId, Catalog
from services.events.activities.domain import ActivityKind
from services.events.activities.store import ActivityFilter, visible_scope
from services.events.checkin.domain import CSV_HEADER, Tally, attendance, csv_row
from services.events.checkin.handlers import check_in_by_code, record_walk_in
from services.events.checkin.store import registrations_of
from services.events.deps import Audit, Cadre
from services.events.registrations.api import RegistrationPublic, RegistrationsDep, managed
from services.events.registrations.domain import CODE_TEXT
from shared.aggregate import Actor
from shared.export import csv_bytes
from shared.problems import PROBLEM_RESPONSES
from shared.text import VISIBLE_TEXT
from shared.timeutil import Moment, as_local, in_range, to_utc

router = APIRouter(responses=PROBLEM_RESPONSES, tags=["签到 check-in"])


class CheckIn(BaseModel):
    code: str = Field(pattern=CODE_TEXT, description="签到码（6 位，扫码或手输）")


class WalkIn(BaseModel):
    member: str = Field(
        max_length=64, pattern=VISIBLE_TEXT, description="会员编号或工号", examples=["T2023001"]
    )


@router.post("/activities/{activity_id}/checkins")
async def check_in(
    activity_id: ActivityId,
    body: CheckIn,
    catalog: Catalog,
    registrations: RegistrationsDep,
    user: Cadre,
) -> RegistrationPublic:
    """签到 by the member's code: once; a second time says when and by whom (409
    `checkin.already`), another activity's code is refused (409 `checkin.other_activity`);
    role: cadre of the activity's campus."""
    activity = await catalog.visible(activity_id, user)
    managed(user, activity)
    return RegistrationPublic.of(await check_in_by_code(registrations, activity, body.code, user))


@router.post("/activities/{activity_id}/walkins")
async def walk_in(
    activity_id: ActivityId,
    body: WalkIn,
    catalog: Catalog,
    registrations: RegistrationsDep,
    user: Cadre,
) -> RegistrationPublic:
    """现场登记: a member who came without a confirmed registration (takes no seat); role:
    cadre of the activity's campus."""
    activity = await catalog.visible(activity_id, user)
    managed(user, activity)
    return RegistrationPublic.of(await record_walk_in(registrations, activity, body.member, user))


class TallyPublic(BaseModel):
    registered: int = Field(description="报名成功人数（会员）")
    seats: int = Field(description="占用名额（含家属）")
    waitlisted: int = Field(description="候补人数")
    cancelled: int = Field(description="取消人数")
    attended: int = Field(description="签到人数（含现场登记）")
    walk_ins: int = Field(description="现场登记人数")
    rate: float | None = Field(description="出勤率 = 签到 ÷ 报名成功")

    @classmethod
    def of(cls, tally: Tally) -> TallyPublic:
        return cls(**vars(tally), rate=tally.rate)


class GroupTally(TallyPublic):
    group: str = Field(description="校区代码或部门名称")


class AttendancePublic(BaseModel):
    total: TallyPublic
    by_campus: list[GroupTally]
    by_department: list[GroupTally]


def groups(tallies: dict[str, Tally]) -> list[GroupTally]:
    return [
        GroupTally(group=name, **TallyPublic.of(t).model_dump())
        for name, t in sorted(tallies.items())
    ]


@router.get("/activities/{activity_id}/attendance")
async def activity_attendance(
    activity_id: ActivityId, catalog: Catalog, registrations: RegistrationsDep, user: Cadre
) -> AttendancePublic:
    """Attendance of one activity, per campus and department; role: cadre of its campus."""
    activity = await catalog.visible(activity_id, user)
    managed(user, activity)
    found = attendance(await registrations.book.all_of_activity(activity.id))
    return AttendancePublic(
        total=TallyPublic.of(found.total),
        by_campus=groups(found.by_campus),
        by_department=groups(found.by_department),
    )


class ActivityTally(TallyPublic):
    activity_id: str
    title: str
    kind: ActivityKind
    kind_label: str
    campus: str
    starts_at: datetime


class AttendanceReport(AttendancePublic):
    by_activity: list[ActivityTally]


@router.get("/attendance")
async def attendance_report(
    catalog: Catalog,
    registrations: RegistrationsDep,
    user: Cadre,
    kind: ActivityKind | None = None,
    starts_from: Annotated[Moment | None, Query(description="活动开始不早于")] = None,
    starts_before: Annotated[Moment | None, Query(description="活动开始早于")] = None,
) -> AttendanceReport:
    """Attendance over the activities of the caller's campuses (up to 200, by start), per
    activity, campus and department; role: cadre."""
    lower = to_utc(starts_from) if starts_from and in_range(starts_from, 1901, 2199) else None
    upper = to_utc(starts_before) if starts_before and in_range(starts_before, 1901, 2199) else None
    filters = ActivityFilter(kind=kind, starts_from=lower, starts_before=upper)
    activities, _ = await catalog.page(filters.query(visible_scope(user)), 200, 0)
    found = await registrations_of(registrations.book, [a.id for a in activities])
    per_activity = []
    for activity in activities:
        tally = attendance(r for r in found if r.activity_id == activity.id).total
        per_activity.append(
            ActivityTally(
                activity_id=activity.id,
                title=activity.title,
                kind=activity.kind,
                kind_label=activity.kind.label,
                campus=activity.campus,
                starts_at=as_local(activity.starts_at),
                **TallyPublic.of(tally).model_dump(),
            )
        )
    whole = attendance(found)
    return AttendanceReport(
        total=TallyPublic.of(whole.total),
        by_campus=groups(whole.by_campus),
        by_department=groups(whole.by_department),
        by_activity=per_activity,
    )


CSV: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {}}, "description": "UTF-8（带 BOM，Excel 可直接打开）"}
}


@router.get("/activities/{activity_id}/registrations.csv", response_class=Response, responses=CSV)
async def export_registrations(
    activity_id: ActivityId,
    catalog: Catalog,
    registrations: RegistrationsDep,
    audit: Audit,
    user: Cadre,
) -> Response:
    """Registrations and attendance of one activity as CSV (UTF-8 with BOM, so Chinese Excel
    opens it); the export is audited; role: cadre of its campus."""
    activity = await catalog.visible(activity_id, user)
    managed(user, activity)
    rows = await registrations.book.all_of_activity(activity.id)
    await audit.record(
        Actor.of(user), "export_registrations", activity.id, activity.campus, rows=len(rows)
    )
    filename = f"registrations-{activity.id}.csv"
    return Response(
        csv_bytes(CSV_HEADER, [csv_row(r) for r in rows]),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
