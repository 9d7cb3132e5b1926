"""Cells as schools type them — amounts, dates, yes/no — read by one set of rules.

Every area that reads a spreadsheet or a form field a person typed (the members import, the
dues payment list, the welfare ledger next) parses through here, so "12.5" is 1250 fen and
"１９９０年３月８日" a date the same way everywhere. Pure: no I/O.

Each function takes a cell as it comes (text from a CSV, a number or a date from an XLSX)
and `what` — the column's Chinese name, which starts the message. A value it cannot read is
refused with `Unparsable`, a domain error (422) with a stable code:

| code | when |
| --- | --- |
| `parse.empty` | nothing but spaces |
| `parse.invalid_amount` | not an amount (letters, `1e3`, `1,23`, `.5`) |
| `parse.too_many_decimals` | finer than a fen (`45.505`) |
| `parse.negative_amount` | below zero where the caller does not allow it |
| `parse.invalid_date` | not a date, or no such day (`2026/2/30`) |
| `parse.invalid_boolean` | not one of 是/否, Y/N, true/false, 1/0, √/× |

Callers with their own published codes (`import.invalid_amount`) re-code by `kind`; the
message stays the one written here.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from shared.errors import Invalid
from shared.spreadsheet import excel_date
from shared.text import fold_width

Cell = str | int | float | Decimal | date | None
Kind = Literal["empty", "amount", "date", "boolean"]


class Unparsable(Invalid):
    """A cell that is not what its column says. `kind` names what was expected."""

    def __init__(self, kind: Kind, code: str, message: str) -> None:
        super().__init__(code, message)
        self.parse_kind = kind


def half_width(value: str) -> str:
    """Full-width digits, letters and signs (１２．５, ＋, ，) and ideographic spaces to ASCII,
    nothing else (unlike NFKC, ① stays ①): what a Chinese IME types wider."""
    return fold_width(value)


def text_of(cell: Cell) -> str:
    """A cell as the person sees it: half-width, spaces collapsed, a whole float without ".0"."""
    if cell is None:
        return ""
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    if isinstance(cell, date):
        return cell.isoformat()
    return " ".join(half_width(str(cell)).split())


def _empty(what: str) -> Unparsable:
    return Unparsable("empty", "parse.empty", f"{what}不能为空")


# -- amounts ----------------------------------------------------------------------------------

# Digits, or digits grouped by thousands (1,234,567); then a decimal part of any length (its
# length is judged by value below: 45.500 is whole fen, 45.505 is not).
_AMOUNT = re.compile(r"^(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?$")
_WHOLE = re.compile(r"^(?:\d{1,3}(?:,\d{3})+|\d+)$")


def _amount_text(cell: Cell, what: str) -> tuple[str, bool]:
    """The bare number of an amount cell and whether it was negative: ¥/￥ before, 元 after."""
    if isinstance(cell, bool) or isinstance(cell, date):
        raise Unparsable("amount", "parse.invalid_amount", f"{what}「{text_of(cell)}」不是金额")
    text = text_of(cell)
    if not text:
        raise _empty(what)
    value = text.removesuffix("元").strip()
    negative = value.startswith("-")
    value = value.removeprefix("-").strip()
    value = value.removeprefix("¥").removeprefix("￥").strip()
    if not negative and value.startswith("-"):  # ¥-12.50
        negative, value = True, value[1:].strip()
    return value, negative


def yuan_to_fen(cell: Cell, what: str = "金额", *, negative: bool = False) -> int:
    """An amount in yuan, exactly, as integer fen: "12" → 1200, "12.5" → 1250,
    "¥1,234.50" → 123450, "１２．５元" → 1250. Finer than a fen, a negative amount (unless
    `negative`), an empty cell or anything that is not a number is refused."""
    value, minus = _amount_text(cell, what)
    shown = text_of(cell)
    if not _AMOUNT.match(value):
        raise Unparsable(
            "amount",
            "parse.invalid_amount",
            f"{what}「{shown}」应为以元为单位的金额，如 45.50",
        )
    fen = Decimal(value.replace(",", "")) * 100
    if fen != fen.to_integral_value():
        raise Unparsable(
            "amount", "parse.too_many_decimals", f"{what}「{shown}」最多两位小数（到分）"
        )
    return _signed(int(fen), minus, negative, what, shown)


def fen_of(cell: Cell, what: str = "金额", *, negative: bool = False) -> int:
    """An amount already in fen: an integer ("4550", "4,550", "４５５０"), nothing finer."""
    value, minus = _amount_text(cell, what)
    shown = text_of(cell)
    if not _WHOLE.match(value):
        raise Unparsable(
            "amount", "parse.invalid_amount", f"{what}「{shown}」应为以分为单位的整数，如 4550"
        )
    return _signed(int(value.replace(",", "")), minus, negative, what, shown)


def fen_to_yuan(fen: int) -> str:
    """The way back, for CSV and people (never for arithmetic): 12345 → "123.45",
    -5 → "-0.05"; exact, no float on the way."""
    sign = "-" if fen < 0 else ""
    whole, part = divmod(abs(fen), 100)
    return f"{sign}{whole}.{part:02d}"


def _signed(fen: int, minus: bool, allowed: bool, what: str, shown: str) -> int:
    if minus and fen:
        if not allowed:
            raise Unparsable("amount", "parse.negative_amount", f"{what}「{shown}」不能为负数")
        return -fen
    return fen


# -- dates ------------------------------------------------------------------------------------

_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
_TIME = re.compile(r"(?:\s+|T)\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?$")  # "1990-03-08 00:00:00"
_SERIAL = re.compile(r"^\d{1,7}(?:\.\d+)?$")


def parse_date(
    cell: Cell,
    what: str = "日期",
    *,
    serials: bool = False,
    epoch_1904: bool = False,
    example: str = "2026-04-10",
) -> date:
    """A day as schools write it: 2026-04-10, 2026/4/10, 2026.4.10, 2026年4月10日, 20260410,
        full-width digits, a time of day after it ignored; with `serials`, an Excel serial number
        too (a date typed into a "General" cell), counted from 1904 for old Mac workbooks. The
    refusal shows `example` as the form to use."""
    if isinstance(cell, datetime):
        return cell.date()
    if isinstance(cell, date):
        return cell
    text = text_of(cell)
    if not text:
        raise _empty(what)
    if isinstance(cell, int | float | Decimal) and not isinstance(cell, bool):
        found = excel_date(float(cell), epoch_1904) if serials else None
        if found is None:
            raise Unparsable("date", "parse.invalid_date", f"{what}「{text}」不是日期")
        return found
    value = _TIME.sub("", text).strip()
    try:
        if match := _DATE.match(value):
            return date(*(int(g) for g in match.groups()))
        if re.fullmatch(r"\d{8}", value):
            return date(int(value[:4]), int(value[4:6]), int(value[6:]))
        if serials and _SERIAL.match(value) and (found := excel_date(float(value), epoch_1904)):
            return found
    except ValueError:  # 2026/2/30: the form is right, the day never was
        pass
    raise Unparsable(
        "date", "parse.invalid_date", f"{what}「{text}」不是有效日期，请写成 {example}"
    )


# -- yes or no --------------------------------------------------------------------------------

_YES = frozenset({"是", "y", "yes", "true", "1", "√", "✓", "✔", "对", "有"})
_NO = frozenset({"否", "n", "no", "false", "0", "×", "✗", "✘", "错", "无"})


def parse_bool(cell: Cell | bool, what: str = "该列") -> bool:
    """是/否, Y/N, yes/no, true/false, 1/0, √/× (any case, full-width folded)."""
    if isinstance(cell, bool):
        return cell
    text = text_of(cell)
    if not text:
        raise _empty(what)
    key = text.lower()
    if key in _YES:
        return True
    if key in _NO:
        return False
    raise Unparsable("boolean", "parse.invalid_boolean", f"{what}「{text}」应为「是」或「否」")


__all__ = [
    "Cell",
    "Unparsable",
    "fen_of",
    "fen_to_yuan",
    "half_width",
    "parse_bool",
    "parse_date",
    "text_of",
    "yuan_to_fen",
]
