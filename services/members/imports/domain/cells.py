"""One cell at a time: text, dates, gender, employment, small group, amounts, ID numbers.

Amounts and dates are read by `shared.parsing` (as the dues payment list reads them); what
is refused here carries the import's own codes (`import.invalid_date` …).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from datetime import date
from typing import Any

from services.members.imports.columns import HEADER_OF
from services.members.membership.domain import EmploymentType
from services.members.org.domain import Campus
from shared.parsing import Unparsable, fen_of, parse_date, yuan_to_fen
from shared.spreadsheet import Cell


class CellError(Exception):
    """A cell a person must correct; the row turns it into a problem at its column."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def canonical(cell: Cell) -> str:
    """A cell's text as compared and shown: NFKC-folded, spaces collapsed."""
    return " ".join(unicodedata.normalize("NFKC", as_text(cell)).split())


def campus_of(cell: Cell, campuses: Mapping[str, Campus]) -> Campus:
    text = canonical(cell)
    found = campuses.get(text) or campuses.get(text.lower())
    if found is None:
        found = next((c for c in campuses.values() if c.name == text), None)
    if found is None:
        raise CellError("org.unknown_campus", f"校区「{text}」不存在")
    return found


def convert(name: str, kind: str, cell: Cell, campus: Campus | None, epoch_1904: bool) -> Any:
    """The value of a cell of the column `name`, read as its `kind` says."""
    if kind == "date":
        return _date(name, cell, epoch_1904)
    if kind == "gender":
        return _gender(cell)
    if kind == "employment":
        return _employment(cell)
    if kind == "small_group":
        return _small_group(cell, campus)
    if kind == "yuan":
        return _yuan(cell)
    if kind == "fen":
        return _fen(cell)
    if name == "id_number":
        _not_a_number(cell)
    return as_text(cell)


def as_text(cell: Cell) -> str:
    """A cell as text: numbers without Excel's ".0", dates as YYYY-MM-DD, spaces collapsed."""
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    if isinstance(cell, date):
        return cell.isoformat()
    text = "" if cell is None else str(cell)
    return " ".join(text.replace("\u3000", " ").split())


def _date(name: str, cell: Cell, epoch_1904: bool) -> date:
    try:
        return parse_date(
            cell, HEADER_OF[name], serials=True, epoch_1904=epoch_1904, example="1990-03-08"
        )
    except Unparsable as exc:
        raise CellError("import.invalid_date", exc.message) from exc


_GENDER = {"男": "male", "女": "female", "男性": "male", "女性": "female", "m": "male"}
_GENDER |= {"f": "female", "male": "male", "female": "female"}


def _gender(cell: Cell) -> str:
    text = unicodedata.normalize("NFKC", as_text(cell)).strip().lower()
    if text not in _GENDER:
        raise CellError("import.invalid_gender", f"性别「{as_text(cell)}」应为「男」或「女」")
    return _GENDER[text]


def _employment(cell: Cell) -> EmploymentType:
    text = unicodedata.normalize("NFKC", as_text(cell)).strip()
    for kind in EmploymentType:
        if text in (kind.value, kind.name):
            return kind
    allowed = "、".join(k.value for k in EmploymentType)
    raise CellError("import.invalid_employment_type", f"用工形式「{text}」应为：{allowed}")


def _small_group(cell: Cell, campus: Campus | None) -> str:
    text = canonical(cell)
    if campus is None:
        return text  # the campus is refused already; nothing to look the group up in
    for group in campus.small_groups:
        if text in (group.code, group.name):
            return group.code
    raise CellError("org.unknown_small_group", f"校区「{campus.name}」没有教工小家「{text}」")


def _yuan(cell: Cell) -> int:
    try:
        return yuan_to_fen(cell, "会费基数")
    except Unparsable as exc:
        raise CellError("import.invalid_amount", exc.message) from exc


def _fen(cell: Cell) -> int:
    try:
        return fen_of(cell, "会费基数")
    except Unparsable as exc:
        raise CellError("import.invalid_amount", exc.message) from exc


def _not_a_number(cell: Cell) -> None:
    """An 18-digit ID number stored as a number has lost its last digits (Excel keeps 15)."""
    text = str(cell)
    if isinstance(cell, int | float) or re.fullmatch(r"\d(\.\d+)?[eE]\+?\d+", text):
        raise CellError(
            "member.invalid_id_number",
            "身份证号被 Excel 存成了数字，末几位已丢失；请把该列设为「文本」后重新填写",
        )
