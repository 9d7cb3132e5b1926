"""Case routes (慰问): raise, list, read, approve, decline, cancel, pay, visits."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, status
from pydantic import BaseModel, Field

from services.welfare.cases.domain import (
    MAX_CASE_FEN,
    Case,
    CaseKind,
    CaseSource,
    CaseStatus,
    CaseStep,
    Visit,
)
from services.welfare.cases.handlers import (
    READERS,
    Cases,
    RaiseCase,
    RecordVisit,
    decide_case,
    list_cases,
    pay_case,
    raise_case,
    record_visit,
    steps_open,
    visible_case,
    visits_of,
)
from services.welfare.cases.store import CaseFilter, names_of
from services.welfare.deps import MEMBER_ID
from shared.auth import CurrentUser, Principal
from shared.problems import PROBLEM_RESPONSES
from shared.public import LocalDatetime, PublicModel
from shared.runtime import provided
from shared.text import VISIBLE_TEXT
from shared.timeutil import as_local

CasesDep = Annotated[Cases, Depends(provided("cases"))]

router = APIRouter(prefix="/cases", responses=PROBLEM_RESPONSES, tags=["慰问 cases"])

CASE_ID = r"^c-[0-9a-f]{12}$"
CaseId = Annotated[str, Path(pattern=CASE_ID, description="慰问事项编号，如 c-3f2a9c0d1e2b")]
Amount = Annotated[int, Field(ge=0, le=MAX_CASE_FEN, description="金额（分）")]
Day = date  # a day far off is refused by the handlers (409 `case.date_out_of_range`)


Summary = Annotated[str, Field(min_length=1, max_length=100, pattern=VISIBLE_TEXT)]
Text = Annotated[str, Field(min_length=1, max_length=200, pattern=VISIBLE_TEXT)]


class CasePublic(PublicModel):
    id: str
    version: int
    campus: str
    member_id: str
    member_name: str | None = Field(
        None, description="会员姓名（工会干部、经费管理和经费审查委员可见）"
    )
    kind: CaseKind
    kind_label: str
    status: CaseStatus
    status_label: str
    amount_fen: int
    year: int
    summary: str
    source: CaseSource
    source_label: str
    source_ref: str | None
    occurred_on: date
    raised_by: str
    raised_at: LocalDatetime = Field(description="登记时间（北京时间）")
    decided_by: str | None
    decided_at: LocalDatetime | None
    decision_note: str | None
    paid_at: LocalDatetime | None
    ledger_entry_id: str | None
    steps: list[CaseStep] = Field(description="当前可进行的步骤")


def case_public(case: Case, name: str | None = None) -> CasePublic:
    # The member's name only when the route has looked it up for a role that may see it.
    return CasePublic.of(case, member_name=name, steps=steps_open(case))


class CasePage(BaseModel):
    items: list[CasePublic]
    total: int
    limit: int
    offset: int


class RaiseBody(BaseModel):
    member_id: str = Field(pattern=MEMBER_ID, description="会员编号")
    kind: CaseKind
    amount_fen: Amount
    summary: Summary = Field(description="事由（不写病情等敏感内容，敏感内容记入走访备注）")
    occurred_on: Day = Field(description="事由发生日（住院、婚礼、去世等）")


async def _named(cases: Cases, user: Principal, items: list[Case]) -> list[CasePublic]:
    names = (
        await names_of(cases.db, [c.member_id for c in items]) if user.has_role(*READERS) else {}
    )
    return [case_public(c, names.get(c.member_id)) for c in items]


@router.post("", status_code=status.HTTP_201_CREATED)
async def raise_(body: RaiseBody, cases: CasesDep, user: CurrentUser) -> CasePublic:
    """登记慰问事项; role: cadre of the member's campus, or member (for themself: illness,
    a relative's death, marriage, childbirth)."""
    cmd = RaiseCase(
        body.member_id, body.kind, body.amount_fen, body.summary.strip(), body.occurred_on
    )
    case = await raise_case(cases, user, cmd)
    return (await _named(cases, user, [case]))[0]


@router.get("")
async def list_(
    cases: CasesDep,
    user: CurrentUser,
    status_: Annotated[CaseStatus | None, Query(alias="status")] = None,
    kind: CaseKind | None = None,
    source: CaseSource | None = None,
    source_ref: Annotated[str | None, Query(pattern=MEMBER_ID)] = None,
    member_id: Annotated[str | None, Query(pattern=MEMBER_ID)] = None,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> CasePage:
    """慰问事项列表; role: cadre / finance / auditor (their campuses), member (their own)."""
    where = CaseFilter(status_, kind, source, source_ref, member_id, year)
    items, total = await list_cases(cases, user, where, limit, offset)
    return CasePage(items=await _named(cases, user, items), total=total, limit=limit, offset=offset)


@router.get("/{case_id}")
async def get_(case_id: CaseId, cases: CasesDep, user: CurrentUser) -> CasePublic:
    """一个慰问事项 (never its visit notes); role: cadre / finance / auditor of the campus, or
    the member it is for."""
    case = await visible_case(cases, user, case_id)
    return (await _named(cases, user, [case]))[0]


class ApproveBody(BaseModel):
    note: str | None = Field(None, max_length=200, pattern=VISIBLE_TEXT, description="审批意见")
    amount_fen: Amount | None = Field(None, description="批准金额（分）；空为按登记金额")


@router.post("/{case_id}/approve")
async def approve(
    case_id: CaseId, body: ApproveBody, cases: CasesDep, user: CurrentUser
) -> CasePublic:
    """批准; role: admin (工会主席) of the member's campus."""
    case = await decide_case(cases, user, case_id, CaseStep.approve, body.note, body.amount_fen)
    return case_public(case)


class NoteBody(BaseModel):
    note: Text = Field(description="原因")


@router.post("/{case_id}/decline")
async def decline(
    case_id: CaseId, body: NoteBody, cases: CasesDep, user: CurrentUser
) -> CasePublic:
    """不予批准, with the reason; role: admin (工会主席) of the member's campus."""
    return case_public(await decide_case(cases, user, case_id, CaseStep.decline, body.note))


@router.post("/{case_id}/cancel")
async def cancel(case_id: CaseId, body: NoteBody, cases: CasesDep, user: CurrentUser) -> CasePublic:
    """撤销 before payment, with the reason; role: admin (工会主席) of the member's campus."""
    return case_public(await decide_case(cases, user, case_id, CaseStep.cancel, body.note))


class PayBody(BaseModel):
    voucher_no: str | None = Field(
        None, max_length=40, pattern=VISIBLE_TEXT, description="财务凭证号"
    )
    paid_on: Day | None = Field(None, description="发放日期；空为今天（须在事项所属年度内）")


@router.post("/{case_id}/pay")
async def pay(case_id: CaseId, body: PayBody, cases: CasesDep, user: CurrentUser) -> CasePublic:
    """发放并记账, once (the per-person cap: 422 `welfare.cap_exceeded`); role: finance of the
    member's campus."""
    return case_public(await pay_case(cases, user, case_id, body.voucher_no, body.paid_on))


class VisitBody(BaseModel):
    visitors: list[Annotated[str, Field(min_length=1, max_length=40, pattern=VISIBLE_TEXT)]] = (
        Field(min_length=1, max_length=20, description="走访人")
    )
    visited_on: Day = Field(description="走访日期")
    brought: Text = Field(description="慰问品")
    notes: str | None = Field(
        None, max_length=2000, description="走访备注（加密保存，仅主席和本校区工会干部可见）"
    )


class VisitPublic(BaseModel):
    id: str
    case_id: str
    member_id: str
    campus: str
    visitors: list[str]
    visited_on: date
    brought: str
    notes: str | None
    recorded_by: str
    recorded_at: datetime

    @classmethod
    def of(cls, visit: Visit) -> VisitPublic:
        return cls(
            **visit.model_dump(
                include={
                    "id",
                    "case_id",
                    "member_id",
                    "campus",
                    "visitors",
                    "visited_on",
                    "brought",
                    "notes",
                    "recorded_by",
                }
            ),
            recorded_at=as_local(visit.recorded_at),
        )


@router.post("/{case_id}/visits", status_code=status.HTTP_201_CREATED)
async def visit(
    case_id: CaseId, body: VisitBody, cases: CasesDep, user: CurrentUser
) -> VisitPublic:
    """走访记录 (notes sealed at rest); role: cadre of the member's campus."""
    cmd = RecordVisit(
        [v.strip() for v in body.visitors],
        body.visited_on,
        body.brought.strip(),
        (body.notes or "").strip() or None,
    )
    return VisitPublic.of(await record_visit(cases, user, case_id, cmd))


VisitId = Annotated[
    str | None,
    Query(
        pattern=r"^v-[0-9a-f]{12}$",
        description="刚记录的走访编号：列表尚未更新时也列出（记录后跳转的页面用）",
    ),
]


@router.get("/{case_id}/visits")
async def visits(
    case_id: CaseId, cases: CasesDep, user: CurrentUser, recorded: VisitId = None
) -> list[VisitPublic]:
    """一个事项的走访记录，含备注; role: cadre (or admin) of the member's campus."""
    return [VisitPublic.of(v) for v in await visits_of(cases, user, case_id, recorded)]
