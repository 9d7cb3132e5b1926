"""A ledger as CSV (UTF-8 with BOM, so Chinese Excel opens it) or XLSX, for the auditor.

Text a person typed (cause, approver, voucher, reason) could start with `=`, `+`, `-` or `@`
and be taken for a formula by a spreadsheet: such a cell is written with a leading `'`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

from openpyxl import Workbook

from services.welfare.funds.chart import Chart
from services.welfare.funds.domain import ENTRY_ZH, EntryKind, fen_to_yuan
from shared.timeutil import as_local

HEADERS = [
    "序号",
    "日期",
    "类型",
    "科目代码",
    "科目",
    "收入（元）",
    "支出（元）",
    "预算变动（元）",
    "冲正序号",
    "事由",
    "审批人",
    "凭证号",
    "说明",
    "记账人",
    "记账时间",
    "结余（元）",
    "哈希",
]
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _text(value: Any) -> str:
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(FORMULA_START) else text


def _columns(entry: dict[str, Any]) -> tuple[int | None, int | None, int | None]:
    """(income, spending, budget change) in fen: a reversal is the original's, negative."""
    kind, fen = EntryKind(entry["kind"]), entry["amount_fen"]
    if kind is EntryKind.income:
        return fen, None, None
    if kind is EntryKind.payment:
        return None, fen, None
    if kind is EntryKind.reversal:
        original = EntryKind(entry["reverses_kind"])
        return (-fen, None, None) if original is EntryKind.income else (None, -fen, None)
    return None, None, fen


def rows(entries: Iterable[dict[str, Any]], chart: Chart) -> Iterable[list[Any]]:
    for e in entries:
        income, spending, budget = _columns(e)
        line = e.get("line")
        yield [
            e["seq"],
            e.get("occurred_on") or "",
            ENTRY_ZH[EntryKind(e["kind"])],
            line or "",
            chart.name_of(line) if line else "",
            fen_to_yuan(income) if income is not None else "",
            fen_to_yuan(spending) if spending is not None else "",
            fen_to_yuan(budget) if budget is not None else "",
            e.get("reverses") or "",
            _text(e.get("cause")),
            _text(e.get("approved_by")),
            _text(e.get("voucher_no")),
            _text(e.get("reason")),
            _text(e.get("by")),
            as_local(e["at"]).strftime("%Y-%m-%d %H:%M:%S"),
            fen_to_yuan(e["state"]["balance_fen"]),
            e["hash"],
        ]


def to_csv(entries: Iterable[dict[str, Any]], chart: Chart) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADERS)
    writer.writerows(rows(entries, chart))
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(entries: Iterable[dict[str, Any]], chart: Chart, title: str) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title[:31])
    sheet.append(HEADERS)
    for row in rows(entries, chart):
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
