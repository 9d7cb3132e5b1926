"""Dues pages (会费): finance's desk under /admin/dues (generate a month's bills, record and
import payments, reverse a payment, read arrears) and a member's own dues under /m/dues.

Everything goes through members' dues API as the signed-in person: finance writes, the
auditor reads (the API refuses the auditor's writes, and the pages show them no button), a
member reads only their own bills. A payment list may be CSV or Excel: web reads an Excel
sheet into CSV (the bounded reader in shared.spreadsheet) and sends that on.
"""

from __future__ import annotations

import asyncio
import csv
import io
import secrets
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Path, Query, UploadFile
from fastapi.responses import Response

from services.web.backend import ApiError
from services.web.context import MemberVisit, StaffVisit, Visit, redirect
from shared.errors import DomainError
from shared.parsing import yuan_to_fen
from shared.spreadsheet import Cell, Oversized, Unreadable, off_the_loop, read_table
from shared.timeutil import local_today

router = APIRouter()

PAGE = 50
MONTH = r"^\d{4}-(0[1-9]|1[0-2])$"
MonthPath = Annotated[str, Path(pattern=MONTH)]
MemberId = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
MonthQuery = Annotated[str | None, Query(pattern=r"^(\d{4}-(0[1-9]|1[0-2]))?$")]
MAX_UPLOAD = 10 * 1024 * 1024
MAX_ROWS = 20_000
STATUSES = {
    "unpaid": "未缴",
    "partial": "部分缴纳",
    "paid": "已缴清",
    "owing": "欠缴（未缴或部分）",
}
METHODS = {
    "payroll": "工资代扣",
    "transfer": "转账",
    "cash": "现金",
    "online": "线上（微信/支付宝）",
    "other": "其他",
}
ENTRY_KINDS = {"bill": "应缴", "payment": "缴费", "reversal": "冲正"}
FLASH = {"paid": "缴费已登记", "reversed": "已冲正（原缴费记录保留）"}


def can_write(visit: Visit) -> bool:
    assert visit.session is not None
    return visit.session.has("finance")


# -- bills ------------------------------------------------------------------------------------


@router.get("/admin/dues")
async def bills(
    visit: StaffVisit,
    month: MonthQuery = None,
    status: Annotated[str | None, Query(pattern=r"^(unpaid|partial|paid|owing)?$")] = None,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> Response:
    """会费账单: bills of my campuses with paid and owed, generate a month, record and import
    payments; role: finance or auditor."""
    return await bills_view(visit, month or None, status or None, offset)


async def bills_view(
    visit: Visit,
    month: str | None,
    status: str | None,
    offset: int,
    *,
    flash: str | None = None,
    error: str | None = None,
    generated: dict[str, Any] | None = None,
    imported: dict[str, Any] | None = None,
) -> Response:
    params = {"month": month, "status": status, "limit": PAGE, "offset": offset}
    page, _ = await asyncio.gather(visit.get("members", "/dues/bills", params=params), visit.org())
    query = "&".join(f"{k}={v}" for k, v in {"month": month, "status": status}.items() if v)
    return visit.render(
        "dues/bills.html",
        status_code=409 if error else 200,
        page=page,
        month=month,
        status=status,
        statuses=STATUSES,
        methods=METHODS,
        query=query,
        prev=offset - PAGE if offset > 0 else None,
        next=offset + PAGE if offset + PAGE < page["total"] else None,
        this_month=local_today().isoformat()[:7],
        can_write=can_write(visit),
        key=f"web-{secrets.token_hex(10)}",
        generated=generated,
        imported=imported,
        flash=flash,
        error=error,
        section="dues",
    )


@router.post("/admin/dues/generate")
async def generate(visit: StaffVisit, month: Annotated[str, Form(pattern=MONTH)]) -> Response:
    """生成某月会费账单 for my campuses (once per member and month); role: finance."""
    try:
        done = await visit.post("members", "/dues/bills/generate", json={"month": month})
    except ApiError as exc:
        if exc.status not in (409, 422):
            raise
        return await bills_view(visit, month, None, 0, error=exc.message)
    flash = f"{month} 已出账 {done['billed']} 张（之前已有 {done['already']} 张，未重复出账）"
    return await bills_view(visit, month, None, 0, flash=flash, generated=done)


@router.post("/admin/dues/pay")
async def pay(
    visit: StaffVisit,
    member_id: Annotated[str, Form(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")],
    month: Annotated[str, Form(pattern=MONTH)],
    amount: Annotated[str, Form(max_length=32)],
    key: Annotated[str, Form(pattern=r"^[A-Za-z0-9_.:-]{8,64}$")],
    method: Annotated[str, Form(pattern=r"^(payroll|transfer|cash|online|other)$")] = "payroll",
    paid_on: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """登记一笔缴费 (元) against a month's bill; role: finance."""
    try:
        body = {
            "member_id": member_id,
            "month": month,
            "amount_fen": yuan_to_fen(amount.strip(), "金额"),
            "method": method,
            "paid_on": paid_on.strip() or None,
            "idempotency_key": key,
        }
        await visit.post("members", "/dues/payments", json=body)
    except (ApiError, DomainError) as exc:
        if isinstance(exc, ApiError) and exc.status not in (404, 409, 422):
            raise
        return await bills_view(visit, month, None, 0, error=exc.message)
    return redirect(f"/admin/dues/bills/{month}/{member_id}?msg=paid")


@router.get("/admin/dues/bills/{month}/{member_id}")
async def bill(
    visit: StaffVisit, month: MonthPath, member_id: MemberId, msg: str | None = None
) -> Response:
    """One bill with its payments and reversals; role: finance or auditor."""
    return await bill_view(visit, month, member_id, flash=FLASH.get(msg or ""))


async def bill_view(
    visit: Visit, month: str, member_id: str, *, flash: str | None = None, error: str | None = None
) -> Response:
    found, _ = await asyncio.gather(
        visit.get("members", f"/dues/bills/{month}/{member_id}"), visit.org()
    )
    return visit.render(
        "dues/bill.html",
        status_code=409 if error else 200,
        b=found,
        kinds=ENTRY_KINDS,
        methods=METHODS,
        statuses=STATUSES,
        can_write=can_write(visit),
        key=f"web-{secrets.token_hex(10)}",
        flash=flash,
        error=error,
        section="dues",
    )


@router.post("/admin/dues/bills/{month}/{member_id}/reverse")
async def reverse(
    visit: StaffVisit,
    month: MonthPath,
    member_id: MemberId,
    seq: Annotated[int, Form(ge=1, le=1_000_000)],
    reason: Annotated[str, Form(min_length=1, max_length=200)],
) -> Response:
    """冲正一笔缴费 with a reason (the payment stays on record); role: finance."""
    path = f"/dues/bills/{month}/{member_id}/entries/{seq}/reverse"
    try:
        await visit.post("members", path, json={"reason": reason.strip()})
    except ApiError as exc:
        if exc.status not in (409, 422):
            raise
        return await bill_view(visit, month, member_id, error=exc.message)
    return redirect(f"/admin/dues/bills/{month}/{member_id}?msg=reversed")


# -- import -----------------------------------------------------------------------------------


def _text(cell: Cell) -> str:
    if cell is None:
        return ""
    if isinstance(cell, datetime | date):
        return cell.isoformat()[:10]
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    return str(cell)


def as_csv(data: bytes) -> bytes:
    """A payment list as the dues API reads it: CSV as it came, an Excel sheet as CSV (its
    rows where Excel shows them, so the report's row numbers still point at the sheet)."""
    if data[:4] != b"PK\x03\x04":
        return data
    table = read_table(data, MAX_ROWS)
    out = io.StringIO()
    writer = csv.writer(out)
    line = 0
    for number, cells in table.rows:
        while line < number - 1:  # the empty rows Excel counts
            writer.writerow([])
            line += 1
        writer.writerow([_text(c) for c in cells])
        line += 1
    return out.getvalue().encode("utf-8")


@router.post("/admin/dues/import")
async def import_payments(visit: StaffVisit, file: Annotated[UploadFile, File()]) -> Response:
    """导入缴费明细 (CSV or Excel): each good row recorded once, bad rows reported by row;
    role: finance."""
    data = await file.read(MAX_UPLOAD + 1)
    try:
        if len(data) > MAX_UPLOAD:
            raise Unreadable("文件超过 10 MB，请拆分后上传")
        content = await off_the_loop(as_csv, data)
        done = await visit.post(
            "members",
            "/dues/payments/import",
            files={"file": ("payments.csv", content, "text/csv")},
        )
    except (ApiError, Unreadable, Oversized) as exc:
        if isinstance(exc, ApiError) and exc.status not in (409, 413, 422):
            raise
        return await bills_view(visit, None, None, 0, error=exc.message)
    flash = f"已登记 {done['recorded']} 笔，之前已登记 {done['already']} 笔，未登记 {done['refused']} 笔"
    return await bills_view(visit, None, None, 0, flash=flash, imported=done)


# -- arrears ----------------------------------------------------------------------------------


@router.get("/admin/dues/arrears")
async def arrears(
    visit: StaffVisit, month_from: MonthQuery = None, month_to: MonthQuery = None
) -> Response:
    """欠缴情况 by member, department and campus; role: finance or auditor."""
    params = {"month_from": month_from, "month_to": month_to}
    found, _ = await asyncio.gather(
        visit.get("members", "/dues/arrears", params=params), visit.org()
    )
    return visit.render(
        "dues/arrears.html",
        r=found,
        month_from=month_from,
        month_to=month_to,
        section="dues",
    )


# -- a member's own dues (phone) --------------------------------------------------------------


@router.get("/m/dues")
async def mine(visit: MemberVisit) -> Response:
    """我的会费: my bills, newest first, paid or not; role: member (their own)."""
    found = await visit.get("members", f"/dues/members/{visit.member_id}")
    owed = sum(b["owed_fen"] for b in found)
    return visit.render(
        "dues/mine.html", bills=found, owed=owed, statuses=STATUSES, kinds=ENTRY_KINDS, tab="home"
    )
