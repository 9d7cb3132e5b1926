"""Festival plan routes (福利发放方案): plans, publication, the member's choice and receipt,
issuing by department with the sign-off sheet (签领单), the report and its XLSX."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Response, status
from pydantic import BaseModel, Field, JsonValue, field_validator

from services.welfare.deps import CampusCode
from services.welfare.plans import handlers as h
from services.welfare.plans.domain import (
    Entitlement,
    EntitlementStatus,
    GiftOption,
    Plan,
    PlanStatus,
    PlanTerms,
)
from services.welfare.policy.profile import Festival, GiftForm, current_profile
from shared.auth import CurrentUser
from shared.export import xlsx_bytes
from shared.problems import PROBLEM_RESPONSES
from shared.public import LocalDatetime, PublicModel
from shared.runtime import provided
from shared.text import VISIBLE_TEXT
from shared.timeutil import local_today, to_utc

PlansDep = Annotated[h.Plans, Depends(provided("plans"))]

router = APIRouter(prefix="/welfare", responses=PROBLEM_RESPONSES, tags=["福利发放 plans"])

ID = r"^[A-Za-z0-9_.:-]+$"
PlanId = Annotated[str, Path(min_length=1, max_length=80, pattern=ID)]
EntId = Annotated[str, Path(min_length=1, max_length=160, pattern=ID)]
Department = Annotated[
    str, Path(min_length=1, max_length=60, pattern=VISIBLE_TEXT, description="部门")
]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_FEN = 10_000_000_000


# The forms and festivals the profile in force allows, stated in the schema; the domain
# checks the same (a profile is data: a new version changes these lists, not code).
ALLOWED_FORMS: list[JsonValue] = [
    f.value for f in GiftForm if f not in current_profile().refused_forms
]
COUNTED: list[JsonValue] = [f.value for f in current_profile().festivals]


class OptionIn(BaseModel):
    code: str = Field(min_length=1, max_length=24, pattern=r"^[a-z0-9_-]+$")
    name: str = Field(min_length=1, max_length=40, pattern=VISIBLE_TEXT)
    price_fen: int = Field(gt=0, le=MAX_FEN)
    form: GiftForm = Field(
        json_schema_extra={"enum": ALLOWED_FORMS}, description="形式：不得为现金、购物卡"
    )
    picture: str = Field("🎁", min_length=1, max_length=8, pattern=VISIBLE_TEXT)


class PlanCreate(BaseModel):
    title: str = Field(min_length=1, max_length=60, pattern=VISIBLE_TEXT)
    festival: Festival = Field(json_schema_extra={"enum": COUNTED}, description="节日")
    year: int = Field(ge=2000, le=2100)
    campuses: list[Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{0,31}$")]] = Field(
        min_length=1, max_length=20
    )
    standard_fen: int = Field(gt=0, le=MAX_FEN, description="每人发放标准（分）")
    options: list[OptionIn] = Field(min_length=1, max_length=12)
    reference_date: date = Field(description="参考日期：当日在会的会员有资格")
    include_retirees: bool = False
    late_eligible: bool = Field(True, description="截止前入会的会员也发放")
    deadline: datetime = Field(description="选择截止时间（带时区）")
    default_option: str = Field(min_length=1, max_length=24, pattern=r"^[a-z0-9_-]+$")
    budget_line: str = Field("spend_activity_festival", pattern=r"^[a-z][a-z_]{1,48}$")

    @field_validator("deadline")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("截止时间须带时区")
        if not 2000 <= value.year <= 2101:
            return value  # the plan's dates are checked together: 409 plan.dates_outside_year
        return to_utc(value)

    def terms(self) -> PlanTerms:
        return PlanTerms(
            **self.model_dump(exclude={"options", "campuses"}),
            campuses=list(dict.fromkeys(self.campuses)),
            options=[GiftOption(**o.model_dump()) for o in self.options],
        )


class OptionPublic(PublicModel):
    code: str
    name: str
    price_fen: int
    form: GiftForm
    form_label: str
    picture: str


class PlanPublic(PublicModel):
    id: str
    title: str
    festival: Festival
    festival_label: str
    year: int
    campuses: list[str]
    standard_fen: int
    options: list[OptionPublic]
    reference_date: date
    include_retirees: bool
    late_eligible: bool
    deadline: LocalDatetime = Field(description="选择截止（北京时间）")
    default_option: str
    budget_line: str
    status: PlanStatus
    status_label: str
    created_by: str
    approved_by: str | None
    copied_from: str | None


class PlanList(BaseModel):
    items: list[PlanPublic]


@router.get("/plans")
async def list_plans(
    plans: PlansDep,
    user: CurrentUser,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
) -> PlanList:
    """Plans of the caller's campuses, newest first; role: cadre, finance or auditor."""
    h.require_reader(user)
    query: dict[str, Any] = dict(user.campus_filter())
    if year is not None:
        query["year"] = year
    found = await plans.plans.find(query, sort=[("deadline", -1)], limit=200)
    return PlanList(items=[PlanPublic.of(p) for p in found])


@router.post("/plans", status_code=status.HTTP_201_CREATED)
async def create_plan(body: PlanCreate, plans: PlansDep, user: CurrentUser) -> PlanPublic:
    """拟定福利发放方案 (checked against the policy profile); role: cadre of every campus in
    scope."""
    return PlanPublic.of(await h.draft(plans, user, body.terms()))


@router.get("/plans/{plan_id}")
async def get_plan(plan_id: PlanId, plans: PlansDep, user: CurrentUser) -> PlanPublic:
    """One plan; role: cadre, finance or auditor of a campus in scope."""
    return PlanPublic.of(await h.require_plan(plans, user, plan_id))


class CopyPlan(BaseModel):
    year: int = Field(ge=2000, le=2100, description="新方案的年度")


@router.post("/plans/{plan_id}/copy", status_code=status.HTTP_201_CREATED)
async def copy_plan(
    plan_id: PlanId, body: CopyPlan, plans: PlansDep, user: CurrentUser
) -> PlanPublic:
    """从往年方案复制 as a new draft of another year; role: cadre of every campus in scope."""
    return PlanPublic.of(await h.copy(plans, user, plan_id, body.year))


@router.post("/plans/{plan_id}/approval")
async def approve_plan(plan_id: PlanId, plans: PlansDep, user: CurrentUser) -> PlanPublic:
    """主席批准 (twice is once); role: admin (工会主席) of every campus in scope."""
    return PlanPublic.of(await h.approve(plans, user, plan_id))


class Publication(BaseModel):
    created: int = Field(description="本次新生成的福利资格数")
    existing: int = Field(description="已存在（未重复生成）")
    capped: int = Field(description="因超过年度上限未生成，列入待处理名单")
    resumed: bool = Field(description="方案此前已发布完成：本次未生成任何资格")


@router.post("/plans/{plan_id}/publication")
async def publish_plan(plan_id: PlanId, plans: PlansDep, user: CurrentUser) -> Publication:
    """发布: one entitlement per eligible member, idempotently (again: nothing twice); role:
    cadre of every campus in scope."""
    done = await h.publish(plans, user, plan_id)
    return Publication(
        created=done.created, existing=done.existing, capped=done.capped, resumed=done.resumed
    )


class CappedRow(BaseModel):
    member_id: str
    staff_no: str
    name: str
    department: str
    cap_fen: int
    used_fen: int
    remaining_fen: int
    remaining_words: str
    standard_fen: int


class CappedList(BaseModel):
    items: list[CappedRow]


@router.get("/plans/{plan_id}/capped")
async def capped_list(plan_id: PlanId, plans: PlansDep, user: CurrentUser) -> CappedList:
    """Members left out because the year's festival cap would be passed; role: cadre of the
    campus."""
    rows = await h.capped_out(plans, user, plan_id)
    return CappedList(
        items=[
            CappedRow(
                member_id=r["member_id"],
                staff_no=r["member"].get("staff_no", ""),
                name=r["member"].get("name", ""),
                department=r["member"].get("department", ""),
                cap_fen=r["cap_fen"],
                used_fen=r["used_fen"],
                remaining_fen=r["remaining_fen"],
                remaining_words=r["remaining_words"],
                standard_fen=r["standard_fen"],
            )
            for r in rows
        ]
    )


# -- the member's entitlements -------------------------------------------------------------


class EntitlementPublic(PublicModel):
    id: str
    plan_id: str
    plan_title: str
    festival_label: str
    year: int
    campus: str
    status: EntitlementStatus
    status_label: str
    standard_fen: int
    deadline: LocalDatetime
    choosing: bool = Field(description="还可以选择")
    options: list[OptionPublic]
    default_option: str
    option: str | None
    amount_fen: int | None
    defaulted: bool


def entitlement_public(e: Entitlement, plan: Plan, now: datetime) -> EntitlementPublic:
    # The plan's title, options and default as they are now (the plan is read with it).
    return EntitlementPublic.of(
        e,
        plan_id=plan.id,
        plan_title=plan.title,
        festival_label=plan.festival.label,
        choosing=e.status in (EntitlementStatus.open, EntitlementStatus.chosen)
        and now < e.deadline,
        options=plan.options,
        default_option=plan.default_option,
    )


class MyEntitlements(BaseModel):
    year: int
    items: list[EntitlementPublic]
    received_fen: int = Field(description="本年度已发放/已签收的福利合计（分）")


@router.get("/entitlements/mine")
async def my_entitlements(
    plans: PlansDep,
    user: CurrentUser,
    year: Annotated[int | None, Query(ge=2000, le=2100, description="默认今年")] = None,
) -> MyEntitlements:
    """我的福利 of a year; role: the member (own)."""
    year = year or local_today().year
    found = await h.mine(plans, user, year)
    now = plans.clock()
    items = [entitlement_public(e, p, now) for e, p in found]
    received = sum(
        e.amount_fen or 0
        for e, _ in found
        if e.status in (EntitlementStatus.issued, EntitlementStatus.received)
    )
    return MyEntitlements(year=year, items=items, received_fen=received)


class Choice(BaseModel):
    option: str = Field(min_length=1, max_length=24, pattern=r"^[a-z0-9_-]+$")


@router.post("/entitlements/{entitlement_id}/choice")
async def choose(
    entitlement_id: EntId, body: Choice, plans: PlansDep, user: CurrentUser
) -> EntitlementPublic:
    """选择礼品 before the deadline (409 `entitlement.deadline_passed` after); role: the
    member (own)."""
    entitlement = await h.choose(plans, user, entitlement_id, body.option)
    plan = await plans.plans.require(entitlement.plan_id)
    return entitlement_public(entitlement, plan, plans.clock())


@router.post("/entitlements/{entitlement_id}/receipt")
async def confirm_receipt(
    entitlement_id: EntId, plans: PlansDep, user: CurrentUser
) -> EntitlementPublic:
    """确认签收 of an issued gift (twice is once); role: the member (own)."""
    entitlement = await h.receive(plans, user, entitlement_id)
    plan = await plans.plans.require(entitlement.plan_id)
    return entitlement_public(entitlement, plan, plans.clock())


# -- issuing, the sign-off sheet, the report ---------------------------------------------------


class IssueBatch(BaseModel):
    campus: str = Field(pattern=r"^[a-z][a-z0-9-]{0,31}$")
    department: str = Field(min_length=1, max_length=60, pattern=VISIBLE_TEXT)


class Skipped(BaseModel):
    id: str
    code: str
    detail: str


class IssueResult(BaseModel):
    issued: int = Field(description="本批发放数（每份记账一次）")
    skipped: list[Skipped]


@router.post("/plans/{plan_id}/issues")
async def issue(
    plan_id: PlanId, body: IssueBatch, plans: PlansDep, user: CurrentUser
) -> IssueResult:
    """按部门发放: issues the department's chosen entitlements (the default after the
    deadline), posting the ledger once each; role: cadre of the campus."""
    done = await h.issue_department(plans, user, plan_id, body.campus, body.department)
    return IssueResult(issued=len(done.issued), skipped=[Skipped(**s) for s in done.skipped])


class SignoffRow(BaseModel):
    staff_no: str
    name: str
    option: str
    amount_fen: int
    status: EntitlementStatus
    defaulted: bool


class Signoff(BaseModel):
    plan_id: str
    title: str
    campus: str
    department: str
    rows: list[SignoffRow]
    total_fen: int


@router.get("/plans/{plan_id}/signoff/{campus}/{department}")
async def signoff(
    plan_id: PlanId,
    campus: CampusCode,
    department: Department,
    plans: PlansDep,
    user: CurrentUser,
) -> Signoff:
    """签领单 of a department (names: the people handing out gifts need them); role: cadre of
    the campus."""
    plan, rows = await h.signoff(plans, user, plan_id, campus, department)
    return Signoff(
        plan_id=plan.id,
        title=plan.title,
        campus=campus,
        department=department,
        rows=[SignoffRow(**r) for r in rows],
        total_fen=sum(r["amount_fen"] for r in rows),
    )


@router.get(
    "/plans/{plan_id}/signoff/{campus}/{department}/sheet.xlsx",
    response_class=Response,
    responses={200: {"content": {XLSX: {}}, "description": "签领单 XLSX"}},
)
async def signoff_xlsx(
    plan_id: PlanId,
    campus: CampusCode,
    department: Department,
    plans: PlansDep,
    user: CurrentUser,
) -> Response:
    """签领单 as XLSX, with a column to sign; role: cadre of the campus."""
    plan, rows = await h.signoff(plans, user, plan_id, campus, department)
    body = xlsx_bytes(
        "签领单",
        ["工号", "姓名", "礼品", "金额（元）", "签名", "日期"],
        [[r["staff_no"], r["name"], r["option"], r["amount_fen"] / 100, "", ""] for r in rows],
    )
    return Response(
        body,
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="signoff-{plan.id}.xlsx"'},
    )


class Waiting(BaseModel):
    entitlement_id: str
    member_id: str
    staff_no: str
    name: str
    campus: str
    department: str
    status: EntitlementStatus
    option: str | None


class ReportPublic(BaseModel):
    plan: PlanPublic
    by_status: dict[str, int]
    by_option: dict[str, dict[str, int]]
    by_campus: dict[str, dict[str, int]]
    not_collected: list[Waiting]
    capped: int
    departments: dict[str, dict[str, int]]


@router.get("/plans/{plan_id}/report")
async def plan_report(plan_id: PlanId, plans: PlansDep, user: CurrentUser) -> ReportPublic:
    """发放统计: counts by status, totals by option and campus, who has not collected; role:
    cadre, finance or auditor (rows of the caller's campuses)."""
    found = await h.report(plans, user, plan_id)
    return ReportPublic(
        plan=PlanPublic.of(found.plan),
        by_status=found.by_status,
        by_option=found.by_option,
        by_campus=found.by_campus,
        not_collected=[Waiting(**w) for w in found.not_collected],
        capped=found.capped,
        departments=await h.departments(plans, user, plan_id),
    )


@router.get(
    "/plans/{plan_id}/report.xlsx",
    response_class=Response,
    responses={200: {"content": {XLSX: {}}, "description": "未领取名单 XLSX"}},
)
async def report_xlsx(plan_id: PlanId, plans: PlansDep, user: CurrentUser) -> Response:
    """Who has not collected, as XLSX for the people handing out gifts; role: cadre, finance or
    auditor."""
    found = await h.report(plans, user, plan_id)
    names = {o.code: o.name for o in found.plan.options}
    body = xlsx_bytes(
        "未领取",
        ["工号", "姓名", "校区", "部门", "状态", "礼品"],
        [
            [
                w["staff_no"],
                w["name"],
                w["campus"],
                w["department"],
                EntitlementStatus.label_of(w["status"]),
                names.get(w["option"] or "", ""),
            ]
            for w in found.not_collected
        ],
    )
    return Response(
        body,
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="report-{found.plan.id}.xlsx"'},
    )
