"""Dues as spreadsheets: a payment list read from CSV, the arrears report written as CSV.

A payment list (缴费明细) is what the finance office exports from the payroll or the bank:
one row per payment, a header row naming the columns in Chinese or English. Which column is
the amount says its unit — explicitly, because 45.50 元 and 4550 分 must never be confused:

| column | headers accepted | value |
| --- | --- | --- |
| staff number | 工号, 职工号, staff_no | T2023001 (full-width digits fold) |
| month | 月份, 所属月份, 会费月份, month | 2026-04, 2026/4, 2026年4月, 202604, or a date in it |
| amount in yuan | 金额（元）, 金额(元), 金额, amount_yuan | 45.50, ¥1,045.50, 45.5元 (whole fen) |
| amount in fen | 金额（分）, 金额(分), amount_fen | 4550 (an integer) |
| paid on (optional) | 缴费日期, 日期, paid_on | 2026-04-10, 2026/4/10, 2026年4月10日, 20260410 |
| note (optional) | 备注, note | anything |

Amounts and days are read by `shared.parsing`, as the members import reads them. Exactly
one amount column. The file is UTF-8 (with or without BOM) or GBK (GB18030), as
Chinese Excel saves it.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass
from datetime import date

from services.members.dues.domain import (
    Arrears,
    parse_month,
    payment_fen,
)
from shared.errors import DomainError
from shared.export import csv_bytes
from shared.parsing import fen_to_yuan, parse_date
from shared.text import normalize

MAX_ROWS = 20_000

COLUMNS: dict[str, tuple[str, ...]] = {
    "staff_no": ("工号", "职工号", "staff_no"),
    "month": ("月份", "所属月份", "会费月份", "month"),
    "amount_yuan": ("金额(元)", "金额", "缴费金额(元)", "缴费金额", "amount_yuan", "amount"),
    "amount_fen": ("金额(分)", "缴费金额(分)", "amount_fen"),
    "paid_on": ("缴费日期", "日期", "paid_on"),
    "note": ("备注", "note"),
}
_HEADER = {h: key for key, names in COLUMNS.items() for h in names}


class SheetError(ValueError):
    """The file as a whole cannot be read (encoding, no header, no amount column)."""


@dataclass(frozen=True)
class PaymentRow:
    row: int  # the row number Excel shows (the header is row 1)
    staff_no: str
    month: str
    amount_fen: int
    paid_on: date | None
    paid_on_text: str  # as written: part of the row's idempotency key
    note: str | None
    occurrence: int  # the n-th row with the same staff number, month, amount and date


@dataclass(frozen=True)
class RowError:
    row: int
    column: str
    message: str
    staff_no: str = ""
    month: str = ""


def decode(data: bytes) -> str:
    """UTF-8 (BOM or not), else GB18030 (GBK): strict UTF-8 rarely accepts GBK by accident."""
    if b"\x00" in data:  # UTF-16 or a binary file; and PostgreSQL stores no NUL anyway
        raise SheetError("无法读取文件：请另存为 CSV（UTF-8 或 GBK 编码）后再上传")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise SheetError("无法识别文件的文字编码：请另存为 CSV（UTF-8 或 GBK）后再上传")


def _header_key(cell: str) -> str | None:
    name = normalize(cell).replace(" ", "").lower()
    return _HEADER.get(name) or _HEADER.get(name.replace("（", "(").replace("）", ")"))


def read_payments(data: bytes) -> tuple[list[PaymentRow], list[RowError]]:
    """Every row as a payment or an error; raises SheetError when the file is not a list."""
    text = decode(data)
    try:
        table = [
            (n, cells)
            for n, cells in enumerate(csv.reader(io.StringIO(text, newline="")), start=1)
            if any(c.strip() for c in cells)
        ]
    except csv.Error as exc:
        raise SheetError(f"CSV 格式有误：{exc}") from exc
    if not table:
        raise SheetError("文件是空的")
    if len(table) > MAX_ROWS + 1:
        raise SheetError(f"一次最多导入 {MAX_ROWS} 行")
    _, header = table[0]
    where: dict[str, int] = {}
    for index, title in enumerate(header):
        found = _header_key(title)
        if found and found not in where:
            where[found] = index
    missing = [
        label for key, label in (("staff_no", "工号"), ("month", "月份")) if key not in where
    ]
    if missing:
        raise SheetError(f"第 1 行应为表头，缺少列：{'、'.join(missing)}")
    units = [k for k in ("amount_yuan", "amount_fen") if k in where]
    if len(units) != 1:
        raise SheetError("须有且只有一个金额列：「金额（元）」或「金额（分）」")
    unit = units[0]

    def cell(cells: list[str], key: str) -> str:
        index = where.get(key)
        return cells[index].strip() if index is not None and index < len(cells) else ""

    rows: list[PaymentRow] = []
    errors: list[RowError] = []
    seen: Counter[tuple[str, str, int, str]] = Counter()
    for number, cells in table[1:]:
        staff_no = normalize(cell(cells, "staff_no")).upper()
        month_text = cell(cells, "month")
        month = parse_month(month_text)
        amount_text = cell(cells, unit)
        paid_text = normalize(cell(cells, "paid_on"))
        if not staff_no:
            errors.append(RowError(number, "工号", "工号不能为空", month=month or ""))
            continue
        if month is None:
            message = f"月份「{month_text}」应写作 2026-04" if month_text else "月份不能为空"
            errors.append(RowError(number, "月份", message, staff_no))
            continue
        try:
            amount = payment_fen(amount_text, "yuan" if unit == "amount_yuan" else "fen")
        except DomainError as exc:
            errors.append(RowError(number, "金额", exc.message, staff_no, month))
            continue
        try:  # a CSV holds text: a bare number here is no date (no Excel serials)
            paid_on = parse_date(paid_text, "缴费日期") if paid_text else None
        except DomainError as exc:
            errors.append(RowError(number, "缴费日期", exc.message, staff_no, month))
            continue
        same = (staff_no, month, amount, paid_text)
        seen[same] += 1
        note = normalize(cell(cells, "note"))[:200] or None
        rows.append(
            PaymentRow(number, staff_no, month, amount, paid_on, paid_text, note, seen[same])
        )
    return rows, errors


def arrears_csv(report: Arrears, campus_names: dict[str, str]) -> bytes:
    """One row per member and month owed, then the subtotals; UTF-8 with BOM for Excel."""
    header = ["校区", "部门", "工号", "姓名", "月份", "应缴（元）", "已缴（元）", "欠缴（元）"]
    rows: list[list[str | None]] = []
    for d in report.debtors:
        campus = campus_names.get(d.campus, d.campus)
        for m in d.months:
            rows.append(
                [
                    campus,
                    d.department,
                    d.staff_no,
                    d.name,
                    m.month,
                    fen_to_yuan(m.due_fen),
                    fen_to_yuan(m.paid_fen),
                    fen_to_yuan(m.owed_fen),
                ]
            )
    for s in report.by_department:
        campus = campus_names.get(s.campus, s.campus)
        rows.append(
            [
                campus,
                s.department,
                "",
                f"部门小计：{s.members} 人",
                f"{s.months} 个月",
                "",
                "",
                fen_to_yuan(s.owed_fen),
            ]
        )
    for s in report.by_campus:
        campus = campus_names.get(s.campus, s.campus)
        rows.append(
            [
                campus,
                "",
                "",
                f"校区小计：{s.members} 人",
                f"{s.months} 个月",
                "",
                "",
                fen_to_yuan(s.owed_fen),
            ]
        )
    rows.append(
        [
            "合计",
            "",
            "",
            f"{report.members} 人",
            f"{report.months} 个月",
            "",
            "",
            fen_to_yuan(report.owed_fen),
        ]
    )
    return csv_bytes(header, rows)
