"""What the dues routes answer (会费): bills with their entries, pages with totals, a month's
generation, a recorded payment or reversal, an import's rows, the arrears report."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from services.members.dues.domain import Arrears, Bill, Entry, EntryKind, PaymentMethod, Rounding
from services.members.dues.handlers import Generation
from shared.timeutil import as_local


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
