"""Dues routes (会费): bills, payments, reversals, arrears. Finance manages, the auditor reads,
a member reads their own."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Path, Query, Response, UploadFile, status
from pydantic import BaseModel, Field

from services.members.deps import Audit, Finance, FinanceReader, MemberId
from services.members.dues.domain import (
    MAX_PAYMENT_FEN,
    MONTH_TEXT,
    Arrears,
    PaymentMethod,
)
from services.members.dues.handlers import (
    audit_generation,
    bill_missing,
    bill_page,
    bill_with_entries,
    bills,
    generate_bills,
    import_payments,
    record_payment,
    report,
    reverse_payment,
    visible_bill,
)
from services.members.dues.models import (
    ArrearsPublic,
    BillPage,
    BillPublic,
    GenerationPublic,
    ImportPublic,
    Recorded,
    RowPublic,
)
from services.members.dues.sheets import arrears_csv
from services.members.dues.store import BillFilter, Ledger
from services.members.membership.api import Members
from services.members.membership.store import NOT_FOUND as MEMBER_NOT_FOUND
from services.members.org.api import Org
from shared.aggregate import Actor
from shared.auth import CurrentUser, Principal, Role
from shared.errors import NotFound
from shared.problems import PROBLEM_RESPONSES, ProblemError
from shared.runtime import provided
from shared.text import PLAIN_TEXT, VISIBLE_TEXT
from shared.timeutil import Day, local_today

DuesBook = Annotated[Ledger, Depends(provided("dues"))]

router = APIRouter(responses=PROBLEM_RESPONSES, tags=["会费 dues"])

Month = Annotated[str, Path(pattern=MONTH_TEXT, description="月份 YYYY-MM")]
CSV = "text/csv; charset=utf-8"
_NOTE_TEXT = r"^[^\x00-\x1f\x7f-\x9f]*$"


# -- bills ------------------------------------------------------------------------------------


class Generate(BaseModel):
    month: str = Field(pattern=MONTH_TEXT, description="月份 YYYY-MM（不能是以后的月份）")


@router.post("/dues/bills/generate")
async def generate(
    body: Generate, ledger: DuesBook, members: Members, audit: Audit, user: Finance
) -> GenerationPublic:
    """生成某月会费账单 for the active members of the caller's campuses, once per member and
    month however often it runs; role: finance."""
    actor = Actor.of(user)
    done = await generate_bills(body.month, members, ledger, actor, user.campus_filter())
    await audit_generation(audit, actor, ",".join(sorted(user.campuses)), done)
    return GenerationPublic.of(done, ledger.policy.rate_bp, ledger.policy.rounding)


def _campuses(user: Principal, campus: str | None) -> frozenset[str] | None:
    """The campuses a list or report covers: the one asked for (if the caller's), else every
    campus of the caller (None: all)."""
    if campus is not None:
        user.require_campus(campus)
        return frozenset({campus})
    return None if user.all_campuses else user.campuses


MonthQuery = Annotated[str | None, Query(pattern=MONTH_TEXT, description="YYYY-MM")]
CampusQuery = Annotated[
    str | None, Query(max_length=32, pattern=PLAIN_TEXT, description="校区代码")
]
DepartmentQuery = Annotated[
    str | None, Query(max_length=64, pattern=PLAIN_TEXT, description="部门（出账时）")
]


@router.get("/dues/bills")
async def list_bills(
    ledger: DuesBook,
    user: FinanceReader,
    month: MonthQuery = None,
    campus: CampusQuery = None,
    department: DepartmentQuery = None,
    status_: Annotated[
        Literal["unpaid", "partial", "paid", "owing"] | None,
        Query(alias="status", description="owing = unpaid 或 partial"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> BillPage:
    """Bills on the caller's campuses with what is paid and owed, by campus and staff number;
    role: finance or auditor."""
    which = BillFilter(
        campuses=_campuses(user, campus), month=month, department=department, status=status_
    )
    found = await bill_page(ledger, which, offset, limit)
    return BillPage(
        items=[BillPublic.of(b) for b in found.items],
        total=found.total,
        due_fen=found.due_fen,
        paid_fen=found.paid_fen,
        owed_fen=found.owed_fen,
        limit=limit,
        offset=offset,
    )


def _reader(user: Principal, member_id: str) -> None:
    if not user.has_role(Role.finance, Role.auditor):
        user.require_self(member_id, "只能查看本人的会费")


@router.get("/dues/bills/{month}/{member_id}")
async def get_bill(
    month: Month, member_id: MemberId, ledger: DuesBook, user: CurrentUser
) -> BillPublic:
    """One bill with every payment and reversal; role: the member themself, finance or
    auditor."""
    _reader(user, member_id)
    found = await visible_bill(ledger, user, month, member_id)
    return BillPublic.of(await bill_with_entries(ledger, found), with_entries=True)


@router.get("/dues/members/{member_id}")
async def member_bills(
    member_id: MemberId,
    ledger: DuesBook,
    members: Members,
    user: CurrentUser,
    month_from: MonthQuery = None,
    month_to: MonthQuery = None,
) -> list[BillPublic]:
    """A member's bills, newest month first, with their entries; role: the member themself,
    finance or auditor (of the member's campus)."""
    _reader(user, member_id)
    if user.subject != member_id:
        member = await members.store.get(member_id)
        if member is None or not user.can_access(member.campus):
            raise NotFound(*MEMBER_NOT_FOUND, id=member_id)
    which = BillFilter(member_id=member_id, month_from=month_from, month_to=month_to)
    found = await bills(ledger, which, newest_first=True)
    return [BillPublic.of(b, with_entries=True) for b in found]


# -- payments ---------------------------------------------------------------------------------

IdempotencyKey = Field(
    min_length=8,
    max_length=64,
    pattern=r"^[A-Za-z0-9_.:-]+$",
    description="幂等键：表单生成一次，重复提交只登记一笔",
)


class Payment(BaseModel):
    member_id: str = Field(min_length=1, max_length=64, pattern=PLAIN_TEXT, description="会员 id")
    month: str = Field(pattern=MONTH_TEXT, description="所缴会费的月份 YYYY-MM")
    amount_fen: int = Field(ge=1, le=MAX_PAYMENT_FEN, description="金额（分），如 45.50 元为 4550")
    paid_on: Day | None = Field(None, description="缴费日期；默认今天（北京时间）")
    method: PaymentMethod = Field(
        PaymentMethod.payroll,
        description="payroll 工资代扣 / transfer 转账 / cash 现金 / online 线上 / other",
    )
    note: str | None = Field(None, max_length=200, pattern=_NOTE_TEXT, description="备注")
    idempotency_key: str = IdempotencyKey


RECORDED: dict[int | str, dict[str, Any]] = {
    200: {"description": "重复提交：返回已登记的那一笔", "model": Recorded}
}


@router.post("/dues/payments", status_code=status.HTTP_201_CREATED, responses=RECORDED)
async def pay(
    body: Payment, ledger: DuesBook, audit: Audit, user: Finance, response: Response
) -> Recorded:
    """登记一笔缴费 against a month's bill (never more than is owed), once per idempotency key;
    role: finance."""
    bill = await visible_bill(ledger, user, body.month, body.member_id)
    if not user.can_access(bill.campus):  # their own bill, on a campus they do not manage
        raise bill_missing(body.month, body.member_id)
    key = f"pay:{body.month}:{body.member_id}:{body.idempotency_key}"
    done = await record_payment(
        ledger,
        audit,
        Actor.of(user),
        bill,
        body.amount_fen,
        key,
        paid_on=body.paid_on,
        method=body.method,
        note=body.note,
    )
    if done.replayed:
        response.status_code = status.HTTP_200_OK
    return Recorded.of(bill, done)


class Reversal(BaseModel):
    reason: str = Field(max_length=200, pattern=VISIBLE_TEXT, description="冲正原因")


@router.post(
    "/dues/bills/{month}/{member_id}/entries/{seq}/reverse",
    status_code=status.HTTP_201_CREATED,
    responses=RECORDED,
)
async def reverse(
    month: Month,
    member_id: MemberId,
    seq: Annotated[int, Path(ge=1, le=1_000_000, description="缴费记录序号")],
    body: Reversal,
    ledger: DuesBook,
    audit: Audit,
    user: Finance,
    response: Response,
) -> Recorded:
    """冲正一笔缴费: a new entry puts it back, the payment stays on record; once per payment;
    role: finance."""
    bill = await visible_bill(ledger, user, month, member_id)
    if not user.can_access(bill.campus):
        raise bill_missing(month, member_id)
    done = await reverse_payment(ledger, audit, Actor.of(user), bill, seq, body.reason.strip())
    if done.replayed:
        response.status_code = status.HTTP_200_OK
    return Recorded.of(bill, done)


MAX_UPLOAD = 10 * 1024 * 1024  # a school's payment list is far smaller


@router.post(
    "/dues/payments/import",
    responses={
        409: {"description": "文件无法读取（编码、缺少表头或金额列），一行也没有登记"},
        413: {"description": f"文件超过 {MAX_UPLOAD // 1024 // 1024} MB"},
    },
)
async def import_csv(
    file: Annotated[
        UploadFile,
        File(
            description="缴费明细 CSV（UTF-8 或 GBK）：工号、月份、金额（元）或金额（分），"
            "可选缴费日期、备注"
        ),
    ],
    ledger: DuesBook,
    audit: Audit,
    user: Finance,
) -> ImportPublic:
    """Record a payment list (CSV, GBK or UTF-8): each good row once however often the file
    is sent, bad rows reported by row number; a file that is not a payment list is a 409
    saying why; role: finance."""
    data = await file.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        raise ProblemError(
            "dues.file_too_large", 413, f"文件超过 {MAX_UPLOAD // 1024 // 1024} MB，请拆分后上传"
        )
    done = await import_payments(data, ledger, audit, Actor.of(user), user)
    return ImportPublic(
        recorded=done.count("recorded"),
        already=done.count("already"),
        refused=done.count("refused"),
        recorded_fen=done.recorded_fen,
        rows=[RowPublic(**vars(r)) for r in done.rows],
    )


# -- arrears ----------------------------------------------------------------------------------


async def _arrears(
    ledger: DuesBook,
    user: Principal,
    campus: str | None,
    department: str | None,
    month_from: str | None,
    month_to: str | None,
) -> Arrears:
    which = BillFilter(
        campuses=_campuses(user, campus),
        department=department,
        month_from=month_from,
        month_to=month_to,
    )
    return report(await bills(ledger, which))


@router.get("/dues/arrears")
async def get_arrears(
    ledger: DuesBook,
    user: FinanceReader,
    campus: CampusQuery = None,
    department: DepartmentQuery = None,
    month_from: MonthQuery = None,
    month_to: MonthQuery = None,
) -> ArrearsPublic:
    """欠缴情况: who owes what for which months, per campus and department, with totals;
    role: finance or auditor."""
    return ArrearsPublic.of(await _arrears(ledger, user, campus, department, month_from, month_to))


@router.get(
    "/dues/arrears.csv",
    response_class=Response,
    responses={200: {"content": {CSV: {}}, "description": "UTF-8 CSV（带 BOM），金额以元计"}},
)
async def get_arrears_csv(
    ledger: DuesBook,
    org: Org,
    user: FinanceReader,
    campus: CampusQuery = None,
    department: DepartmentQuery = None,
    month_from: MonthQuery = None,
    month_to: MonthQuery = None,
) -> Response:
    """The arrears report as CSV (amounts in yuan with two decimals); role: finance or
    auditor."""
    found = await _arrears(ledger, user, campus, department, month_from, month_to)
    names = {c.id: c.name for c in await org.campuses()}
    name = f"会费欠缴-{local_today().isoformat()}.csv"
    return Response(
        arrears_csv(found, names),
        media_type=CSV,
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"},
    )
