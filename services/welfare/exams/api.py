"""Exam routes (体检): the plan of a campus and year, bookings, completion, statistics."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, UploadFile
from pydantic import BaseModel, Field

from services.welfare.deps import CampusCode, MemberId, Year
from services.welfare.exams.domain import (
    CODE,
    BookingStatus,
    Day,
    ExamPlan,
    Package,
    PlanSettings,
    Provider,
    Slot,
    Tally,
    eligible_packages,
)
from services.welfare.exams.handlers import (
    Exams,
    book,
    booking_of,
    cancel,
    complete,
    complete_from_list,
    person_of,
    plan_of,
    save_plan,
    statistics,
)
from services.welfare.exams.reminders import remind_not_booked
from shared.auth import CurrentUser
from shared.errors import NotFound
from shared.problems import PROBLEM_RESPONSES, ProblemError
from shared.public import PublicModel
from shared.runtime import provided

ExamsDep = Annotated[Exams, Depends(provided("exams"))]

router = APIRouter(prefix="/exams", responses=PROBLEM_RESPONSES, tags=["体检 exams"])

MAX_UPLOAD = 5 * 1024 * 1024


class SlotPublic(PublicModel, Slot):
    provider_name: str
    taken: int = Field(description="已约人数")
    free: int = Field(description="剩余名额")


class PlanPublic(PublicModel):
    id: str
    campus: str
    year: int
    title: str
    union_pays: bool
    line: str
    retirees: bool
    providers: list[Provider]
    packages: list[Package]
    slots: list[SlotPublic]


class BookingPublic(PublicModel):
    id: str
    plan_id: str
    member_id: str
    status: BookingStatus
    status_label: str
    slot: str
    day: date
    package: str
    completed_on: date | None
    union_paid: bool


class BookingCreate(BaseModel):
    slot: str = Field(pattern=CODE, description="时段代码")
    package: str = Field(pattern=CODE, description="套餐代码")
    member_id: str | None = Field(
        None, pattern=r"^[A-Za-z0-9_.:-]{1,64}$", description="干部代为预约时填写；本人预约不填"
    )


class CompletionCreate(BaseModel):
    completed_on: Day | None = Field(None, description="体检日期（默认今天）")


class MinePublic(BaseModel):
    booking: BookingPublic | None
    packages: list[Package] = Field(description="本人可选的套餐")


class RowPublic(BaseModel):
    row: int
    staff_no: str
    outcome: str = Field(description="completed 已记录 / already 此前已记录 / refused 有误")
    message: str


class CompletionReportPublic(BaseModel):
    completed: int
    already: int
    refused: int
    rows: list[RowPublic]


class PersonPublic(BaseModel):
    member_id: str
    staff_no: str | None
    name: str | None
    department: str | None


class AwaitingPublic(PersonPublic):
    slot: str = Field(description="时段代码")
    day: date = Field(description="预约的体检日期")
    package: str = Field(description="套餐代码")


class StatisticsPublic(BaseModel):
    total: Tally
    by_department: dict[str, Tally]
    not_booked: list[PersonPublic]
    awaiting_completion: list[AwaitingPublic] = Field(
        description="已预约、尚未记录体检的会员（按体检日期、时段）"
    )


class ReminderPublic(BaseModel):
    day: date = Field(description="提醒日期（北京时间）：每个方案每天一次")
    members: int = Field(description="当天提醒的未预约人数")
    at: datetime = Field(description="当天提醒发出的时间")
    sent_now: bool = Field(description="true 本次发出；false 当天已提醒过，未重复发送")


def person_public(p: dict[str, Any]) -> dict[str, Any]:
    return {
        "member_id": p["_id"],
        "staff_no": p.get("staff_no"),
        "name": p.get("name"),
        "department": p.get("department"),
    }


async def plan_public(exams: Exams, plan: ExamPlan) -> PlanPublic:
    taken = await exams.book.taken(plan.id)
    return PlanPublic.of(
        plan,
        slots=[
            SlotPublic.of(
                s,
                provider_name=plan.provider_name(s.provider),
                taken=taken.get(s.code, 0),
                free=max(s.capacity - taken.get(s.code, 0), 0),
            )
            for s in plan.slots
        ],
    )


@router.put("/plans/{campus}/{year}")
async def put_plan(
    campus: CampusCode, year: Year, body: PlanSettings, exams: ExamsDep, user: CurrentUser
) -> PlanPublic:
    """Set up or revise the year's exam plan of a campus (a booked slot stays); role: cadre
    of the campus."""
    return await plan_public(exams, await save_plan(exams, user, campus, year, body))


@router.get("/plans/{campus}/{year}")
async def get_plan(
    campus: CampusCode, year: Year, exams: ExamsDep, user: CurrentUser
) -> PlanPublic:
    """The plan with each slot's places taken and free; role: anyone of the campus."""
    return await plan_public(exams, await plan_of(exams, user, campus, year))


@router.get("/plans/{campus}/{year}/mine")
async def get_mine(
    campus: CampusCode, year: Year, exams: ExamsDep, user: CurrentUser
) -> MinePublic:
    """My booking and the packages I may choose; role: a member of the campus (self)."""
    plan = await plan_of(exams, user, campus, year)
    booking = await booking_of(exams, user, plan, user.subject)
    person = await person_of(exams, plan, user.subject)
    return MinePublic(
        booking=BookingPublic.of(booking) if booking else None,
        packages=eligible_packages(plan, person),
    )


@router.post("/plans/{campus}/{year}/bookings")
async def post_booking(
    campus: CampusCode, year: Year, body: BookingCreate, exams: ExamsDep, user: CurrentUser
) -> BookingPublic:
    """Book a slot, or move to another (twice is once; 409 `exam.slot_full`); role: the member
    themself, or a cadre of the campus for a member."""
    plan = await plan_of(exams, user, campus, year)
    member_id = body.member_id or user.subject
    return BookingPublic.of(await book(exams, user, plan, member_id, body.slot, body.package))


@router.get("/plans/{campus}/{year}/bookings/{member_id}")
async def get_booking(
    campus: CampusCode, year: Year, member_id: MemberId, exams: ExamsDep, user: CurrentUser
) -> BookingPublic:
    """A member's booking; role: the member themself, a cadre of the campus, or its auditor
    when the union pays the fee."""
    plan = await plan_of(exams, user, campus, year)
    found = await booking_of(exams, user, plan, member_id)
    if found is None:
        raise NotFound("exam.booking_not_found", "未找到该体检预约", member_id=member_id)
    return BookingPublic.of(found)


@router.post("/plans/{campus}/{year}/bookings/{member_id}/cancel")
async def post_cancel(
    campus: CampusCode, year: Year, member_id: MemberId, exams: ExamsDep, user: CurrentUser
) -> BookingPublic:
    """Cancel a booking (its place is free again); role: the member themself, or a cadre of
    the campus."""
    plan = await plan_of(exams, user, campus, year)
    return BookingPublic.of(await cancel(exams, user, plan, member_id))


@router.post("/plans/{campus}/{year}/bookings/{member_id}/completion")
async def post_completion(
    campus: CampusCode,
    year: Year,
    member_id: MemberId,
    body: CompletionCreate,
    exams: ExamsDep,
    user: CurrentUser,
) -> BookingPublic:
    """Record that the exam was done (the union's share posted once when it pays); role:
    cadre of the campus."""
    plan = await plan_of(exams, user, campus, year)
    return BookingPublic.of(await complete(exams, user, plan, member_id, body.completed_on))


@router.post(
    "/plans/{campus}/{year}/completions",
    responses={
        409: {"description": "文件无法读取（编码、缺少表头），一行也没有记录"},
        413: {"description": "文件超过 5 MB"},
    },
)
async def post_completions(
    campus: CampusCode,
    year: Year,
    exams: ExamsDep,
    user: CurrentUser,
    file: Annotated[
        UploadFile, File(description="体检机构名单 CSV（GBK 或 UTF-8）或 XLSX：工号、体检日期")
    ],
) -> CompletionReportPublic:
    """Record completion from the provider's list, each row once; bad rows answered by row
    number; role: cadre of the campus."""
    plan = await plan_of(exams, user, campus, year)
    data = await file.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        raise ProblemError("exam.file_too_large", 413, "文件超过 5 MB，请拆分后上传")
    report = await complete_from_list(exams, user, plan, data)
    return CompletionReportPublic(
        completed=report.count("completed"),
        already=report.count("already"),
        refused=report.count("refused"),
        rows=[RowPublic(**vars(r)) for r in report.rows],
    )


@router.get("/plans/{campus}/{year}/statistics")
async def get_statistics(
    campus: CampusCode, year: Year, exams: ExamsDep, user: CurrentUser
) -> StatisticsPublic:
    """Booked, completed and not booked per department, and the not-booked list for a
    reminder; role: cadre of the campus."""
    plan = await plan_of(exams, user, campus, year)
    found = await statistics(exams, user, plan)
    return StatisticsPublic(
        total=found.total,
        by_department=found.by_department,
        not_booked=[PersonPublic(**person_public(p)) for p in found.not_booked],
        awaiting_completion=[
            AwaitingPublic(**person_public(p), slot=b.slot, day=b.day, package=b.package)
            for p, b in found.awaiting
        ],
    )


@router.post(
    "/plans/{campus}/{year}/reminders",
    responses={
        409: {
            "description": "时段均已过（exam.booking_over）或应检会员均已预约（exam.nobody_to_remind）"
        }
    },
)
async def post_reminder(
    campus: CampusCode, year: Year, exams: ExamsDep, user: CurrentUser
) -> ReminderPublic:
    """Remind the members who have not booked (notify tells each of them), once a day however
    often asked; role: cadre of the campus."""
    plan = await plan_of(exams, user, campus, year)
    done = await remind_not_booked(exams, user, plan)
    return ReminderPublic(day=done.day, members=done.members, at=done.at, sent_now=done.sent_now)
