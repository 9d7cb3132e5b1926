"""Which column of an uploaded member list is which field (工号, 姓名, 性别 …).

A school's spreadsheet names its columns in Chinese, sometimes with a note (「会费基数（元）」,
「工号*」), sometimes as the API spells the field (`staff_no`), sometimes below a title row
(「2026 年新教师入会名单」). `find_header` finds the header row among the first rows and maps
each column to a field; what it cannot use it says (unknown columns, columns an import never
changes), and a list without the required columns cannot be imported at all.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from services.members.membership.columns import COLUMNS as EXPORT_COLUMNS
from shared.spreadsheet import Cell, column_letter

Kind = Literal["text", "date", "gender", "employment", "campus", "small_group", "yuan", "fen"]

HEADER_SEARCH_ROWS = 10  # a title and a note or two may stand above the header row


@dataclass(frozen=True)
class Column:
    """One importable field: its canonical Chinese header and the other names it goes by."""

    field: str  # the field of the JoinMember command
    header: str  # as the import template and the reports name it
    aliases: tuple[str, ...] = ()
    kind: Kind = "text"
    required: bool = False


_HEADER = dict(EXPORT_COLUMNS)  # the export's headers, so an export reads like a template

COLUMNS: tuple[Column, ...] = (
    Column("staff_no", _HEADER["staff_no"], ("教工号", "职工号", "员工号"), required=True),
    Column("name", _HEADER["name"], ("教工姓名",), required=True),
    Column("gender", _HEADER["gender"], kind="gender"),
    Column("birth_date", _HEADER["birth_date"], ("出生年月日",), kind="date"),
    Column("campus", _HEADER["campus"], ("所属校区", "校区代码"), kind="campus", required=True),
    Column("department", _HEADER["department"], ("系部", "部门/系部", "所在部门"), required=True),
    Column("position", _HEADER["position"], ("岗位", "职务/岗位")),
    Column("employment_type", _HEADER["employment_type"], ("用工类型",), kind="employment"),
    Column("hire_date", _HEADER["hire_date"], ("入职时间", "入校日期"), kind="date"),
    Column("phone", _HEADER["phone"], ("手机号", "手机号码", "联系电话")),
    Column("email", _HEADER["email"], ("电子邮箱", "电子邮件", "e-mail")),
    Column("wecom_userid", _HEADER["wecom_userid"], ("企业微信号", "企业微信账号", "企业微信id")),
    Column("id_number", _HEADER["id_number"], ("身份证号码", "身份证")),
    Column("small_group", _HEADER["small_group"], kind="small_group"),
    Column("salary_base_fen", "会费基数", ("会费基数元", "salary_base_yuan"), kind="yuan"),
)
BY_FIELD = {c.field: c for c in COLUMNS}
HEADER_OF = {c.field: c.header for c in COLUMNS}

# Columns of an export that an import never changes: the lifecycle has its own steps.
NOT_IMPORTED = {
    _HEADER["status"]: "会籍状态",
    _HEADER["joined_on"]: "入会日期",
    _HEADER["roles"]: "工会职务",
    "status": "会籍状态",
    "joined_on": "入会日期",
    "roles": "工会职务",
}
# Columns many school sheets have that carry nothing to import: ignored without a word.
SILENT = {"序号", "no", "备注", "说明"}


def header_key(text: str) -> str:
    """`「 工号* 」`, `会费基数（元）`, `Staff_No` → `工号`, `会费基数`, `staff_no`."""
    key = unicodedata.normalize("NFKC", text).replace("\ufeff", "").strip().lower()
    key = re.sub(r"\([^)]*\)$", "", key)  # a trailing note: (元), (必填), (YYYY-MM-DD)
    key = re.sub(r"[\s*:：]", "", key)
    return key


# The API's own name for the salary base counts in fen, as the API does; 会费基数 is in yuan.
SALARY_BASE_FEN = Column("salary_base_fen", "会费基数", kind="fen")

_LOOKUP: dict[str, Column] = {}
for _column in COLUMNS:
    for _name in (_column.header, *_column.aliases):
        _LOOKUP[header_key(_name)] = _column
    _LOOKUP.setdefault(header_key(_column.field), _column)
_LOOKUP[header_key(SALARY_BASE_FEN.field)] = SALARY_BASE_FEN


@dataclass(frozen=True)
class ColumnAt:
    """Where a field is in the file: its 0-based index, its header as written, its letter."""

    column: Column
    index: int
    written: str

    @property
    def letter(self) -> str:
        return column_letter(self.index)


Level = Literal["error", "warning"]


@dataclass(frozen=True)
class HeaderProblem:
    code: str
    message: str
    level: Level
    index: int | None = None  # the column it is about, if one
    column: str | None = None  # its header: the canonical one, or as written if unknown


@dataclass(frozen=True)
class Header:
    row: int  # the Excel row number of the header
    columns: dict[str, ColumnAt]  # field → where it is
    problems: list[HeaderProblem]

    @property
    def usable(self) -> bool:
        return not any(p.level == "error" for p in self.problems)


def _text(cell: Cell) -> str:
    return "" if cell is None else str(cell)


def _recognised(cells: Sequence[Cell]) -> int:
    return sum(1 for c in cells if header_key(_text(c)) in _LOOKUP)


def find_header(rows: Sequence[tuple[int, Sequence[Cell]]], has_default_campus: bool) -> Header:
    """The header among the first rows: the first row naming at least two known columns."""
    for number, cells in rows[:HEADER_SEARCH_ROWS]:
        if _recognised(cells) >= 2:
            return _map(number, cells, has_default_campus)
    first = rows[0][0] if rows else 1
    names = "、".join(c.header for c in COLUMNS if c.required)
    return Header(
        first,
        {},
        [
            HeaderProblem(
                "import.no_header", f"未找到表头：第一行应为列名，至少包括{names}", "error"
            )
        ],
    )


def _map(number: int, cells: Sequence[Cell], has_default_campus: bool) -> Header:
    columns: dict[str, ColumnAt] = {}
    problems: list[HeaderProblem] = []

    def say(code: str, message: str, level: Level, index: int | None, column: str) -> None:
        problems.append(HeaderProblem(code, message, level, index, column))

    not_imported = {header_key(k): v for k, v in NOT_IMPORTED.items()}
    for index, cell in enumerate(cells):
        written = " ".join(_text(cell).replace("\ufeff", "").split())
        key = header_key(written)
        if not key or key in SILENT:
            continue
        column = _LOOKUP.get(key)
        if column is None:
            if key in not_imported:
                what = not_imported[key]
                message = f"「{written}」列不导入：{what}由入会审批、退会等操作维护"
                say("import.column_not_imported", message, "warning", index, written)
            else:
                message = f"未识别的列「{written}」，已忽略"
                say("import.unknown_column", message, "warning", index, written)
            continue
        if column.field in columns:
            first = columns[column.field]
            message = (
                f"「{column.header}」列出现了两次（{first.letter} 列和 "
                f"{column_letter(index)} 列），请只保留一列"
            )
            say("import.duplicate_column", message, "error", index, column.header)
            continue
        columns[column.field] = ColumnAt(column, index, written)
    for column in COLUMNS:
        if column.required and column.field not in columns:
            if column.field == "campus" and has_default_campus:
                continue  # a cadre of one campus may leave it out: the rows are theirs
            message = f"缺少必填列「{column.header}」"
            say("import.missing_column", message, "error", None, column.header)
    return Header(number, columns, problems)


def column_named(written: str) -> Column | None:
    """The field a header names (as `find_header` mapped it), e.g. for a stored job."""
    return _LOOKUP.get(header_key(written))
