"""Dues routes (会费): bills, payments, reversals, arrears. Finance manages, the auditor reads,
a member reads their own."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, File, Path, Query, Response, UploadFile, status
from pydantic import BaseModel, Field

from services.members.deps import Audit, DuesBook, Finance, FinanceReader, MemberId, Members, Org
from services.members.dues.domain import (
    MAX_PAYMENT_FEN,
    MONTH_TEXT,
    Arrears,
    Bill,
    Entry,
    EntryKind,
    PaymentMethod,
    Rounding,
)
from services.members.dues.handlers import (
    Generation,
    audit_generation,
    bill_missing,
    bill_with_entries,
    bills,
    generate_bills,
    import_payments,
    record_payment,
    report,
    reverse_payment,
    visible_bill,
)
from services.members.dues.sheets import arrears_csv
from services.members.membership.store import NOT_FOUND as MEMBER_NOT_FOUND
from shared.aggregate import Actor
from shared.auth import CurrentUser, Principal, Role
from shared.errors import NotFound
from shared.problems import PROBLEM_RESPONSES, ProblemError
from shared.text import PLAIN_TEXT, VISIBLE_TEXT
from shared.timeutil import Day, as_local, local_today

router = APIRouter(responses=PROBLEM_RESPONSES, tags=["会费 dues"])

Month = Annotated[str, Path(pattern=MONTH_TEXT, description="月份 YYYY-MM")]
CSV = "text/csv; charset=utf-8"
_NOTE_TEXT = r"^[^\x00-\x1f\x7f-\x9f]*$"


# -- what answers look like -------------------------------------------------------------------


class EntryPublic(BaseModel):
    seq: int = Field(description="该月账单内的序号（1 为账单本身）")
    kind: EntryKind = Field(description="bill 应缴 / payment 缴费 / reversal 冲正")
    amount_fen: int = Field(description="应缴为正；缴费为负；冲正为正（退回所冲正的缴费）")
    owed_fen: int = Field(description="这笔之后尚欠（分）")
    at: datetime = Field(description="记录时间（北京时间）")
    by: str = Field(description="记录人")
    paid_on: date | None
    method: PaymentMethod | None
    note: str | None
    reverses: int | None = Field(description="冲正的缴费序号")
    reversed: bool = Field(False, description="这笔缴费已被冲正")

    @classmethod
    def of(cls, e: Entry, reversed_seqs: set[int] | None = None) -> EntryPublic:
        return cls(
            seq=e.seq,
            kind=e.kind,
            amount_fen=e.amount_fen,
            owed_fen=e.balance_fen,
            at=as_local(e.at),
            by=e.by,
            paid_on=e.paid_on,
            method=e.method,
            note=e.note,
            reverses=e.reverses,
            reversed=e.seq in (reversed_seqs or set()),
        )


class BillPublic(BaseModel):
    month: str
    member_id: str
    staff_no: str
    name: str
    campus: str = Field(description="出账时的校区")
    department: str = Field(description="出账时的部门")
    due_fen: int = Field(description="应缴（分）")
    paid_fen: int = Field(description="已缴（分，冲正后）")
    owed_fen: int = Field(description="尚欠（分）")
    status: Literal["unpaid", "partial", "paid"]
    entries: list[EntryPublic] | None = Field(None, description="明细（单张账单时给出）")

    @classmethod
    def of(cls, b: Bill, with_entries: bool = False) -> BillPublic:
        reversed_seqs = b.reversed_seqs()
        return cls(
            month=b.bill.month,
            member_id=b.bill.member_id,
            staff_no=b.bill.staff_no,
            name=b.bill.name,
            campus=b.bill.campus,
            department=b.bill.department,
            due_fen=b.due_fen,
            paid_fen=b.paid_fen,
            owed_fen=b.owed_fen,
            status=b.status,
            entries=[EntryPublic.of(e, reversed_seqs) for e in b.entries] if with_entries else None,
        )


class BillPage(BaseModel):
    items: list[BillPublic]
    total: int
    due_fen: int = Field(description="符合条件的账单应缴合计（分）")
    paid_fen: int = Field(description="已缴合计（分）")
    owed_fen: int = Field(description="尚欠合计（分）")
    limit: int
    offset: int


# -- bills ------------------------------------------------------------------------------------


class Generate(BaseModel):
    month: str = Field(pattern=MONTH_TEXT, description="月份 YYYY-MM（不能是以后的月份）")


class MemberRef(BaseModel):
    member_id: str
    staff_no: str
    name: str
    campus: str
    department: str


class UnbilledPublic(MemberRef):
    reason: Literal["no_salary_base", "zero_dues"] = Field(
        description="no_salary_base 未登记会费基数 / zero_dues 会费基数过低（应缴 0 元）"
    )


class GenerationPublic(BaseModel):
    month: str
    rate_bp: int = Field(description="费率（万分之一），50 即 0.5%")
    rounding: Rounding
    billed: int = Field(description="本次新出的账单数")
    already: int = Field(description="已有账单、未重复出账的会员数")
    billed_fen: int = Field(description="本次新出账单的应缴合计（分）")
    not_billed: list[UnbilledPublic] = Field(description="在会但未出账的会员（须补登会费基数）")

    @classmethod
    def of(cls, done: Generation, rate_bp: int, rounding: Rounding) -> GenerationPublic:
        return cls(
            month=done.month,
            rate_bp=rate_bp,
            rounding=rounding,
            billed=done.billed,
            already=done.already,
            billed_fen=done.billed_fen,
            not_billed=[
                UnbilledPublic(
                    member_id=u.member.id,
                    staff_no=u.member.staff_no,
                    name=u.member.name,
                    campus=u.member.campus,
                    department=u.member.department,
                    reason=u.reason.value,
                )
                for u in done.not_billed
            ],
        )


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


def _scope(user: Principal, campus: str | None) -> dict[str, Any]:
    if campus is None:
        return user.campus_filter()
    user.require_campus(campus)
    return {"campus": campus}


def _months(month_from: str | None, month_to: str | None) -> dict[str, Any]:
    found: dict[str, str] = {}
    if month_from:
        found["$gte"] = month_from
    if month_to:
        found["$lte"] = month_to
    return {"month": found} if found else {}


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
    query = {**_scope(user, campus), **({"month": month} if month else {})}
    if department is not None:
        query["department"] = department
    found = await bills(ledger, query)
    if status_ == "owing":
        found = [b for b in found if b.owed_fen > 0]
    elif status_ is not None:
        found = [b for b in found if b.status == status_]
    return BillPage(
        items=[BillPublic.of(b) for b in found[offset : offset + limit]],
        total=len(found),
        due_fen=sum(b.due_fen for b in found),
        paid_fen=sum(b.paid_fen for b in found),
        owed_fen=sum(b.owed_fen for b in found),
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
    found = await bills(ledger, {"member_id": member_id, **_months(month_from, month_to)})
    found.sort(key=lambda b: b.bill.month, reverse=True)
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


class Recorded(BaseModel):
    month: str
    member_id: str
    entry: EntryPublic
    replayed: bool = Field(description="同一请求重复提交：未新增记录")

    @classmethod
    def of(cls, bill: Any, done: Any) -> Recorded:
        """What a payment or a reversal of `bill` recorded (`done`: its entry, replayed?)."""
        return cls(
            month=bill.month,
            member_id=bill.member_id,
            entry=EntryPublic.of(done.entry),
            replayed=done.replayed,
        )


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


class RowPublic(BaseModel):
    row: int = Field(description="Excel 中的行号（表头为第 1 行）")
    staff_no: str
    month: str
    amount_fen: int | None
    outcome: Literal["recorded", "already", "refused"] = Field(
        description="recorded 已登记 / already 之前已登记（未重复）/ refused 未登记"
    )
    code: str | None
    message: str | None
    seq: int | None


class ImportPublic(BaseModel):
    recorded: int
    already: int
    refused: int
    recorded_fen: int = Field(description="本次登记的金额合计（分）")
    rows: list[RowPublic]


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


class OwedPublic(BaseModel):
    month: str
    due_fen: int
    paid_fen: int
    owed_fen: int


class DebtorPublic(MemberRef):
    months: list[OwedPublic]
    owed_fen: int


class SubtotalPublic(BaseModel):
    campus: str
    department: str | None
    members: int
    months: int
    owed_fen: int


class ArrearsPublic(BaseModel):
    debtors: list[DebtorPublic] = Field(description="欠缴会员：欠缴的月份与金额")
    by_department: list[SubtotalPublic]
    by_campus: list[SubtotalPublic]
    members: int
    months: int
    owed_fen: int

    @classmethod
    def of(cls, r: Arrears) -> ArrearsPublic:
        return cls(
            debtors=[
                DebtorPublic(
                    member_id=d.member_id,
                    staff_no=d.staff_no,
                    name=d.name,
                    campus=d.campus,
                    department=d.department,
                    months=[OwedPublic(**vars(m)) for m in d.months],
                    owed_fen=d.owed_fen,
                )
                for d in r.debtors
            ],
            by_department=[SubtotalPublic(**vars(s)) for s in r.by_department],
            by_campus=[SubtotalPublic(**vars(s)) for s in r.by_campus],
            members=r.members,
            months=r.months,
            owed_fen=r.owed_fen,
        )


async def _arrears(
    ledger: DuesBook,
    user: Principal,
    campus: str | None,
    department: str | None,
    month_from: str | None,
    month_to: str | None,
) -> Arrears:
    query = {**_scope(user, campus), **_months(month_from, month_to)}
    if department is not None:
        query["department"] = department
    return report(await bills(ledger, query))


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
