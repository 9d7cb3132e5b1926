"""The uploaded file: its rows by field, what is wrong with it as a whole, repeated rows."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from services.members.imports.columns import ColumnAt, Header, find_header
from services.members.imports.domain.cells import as_text, canonical
from services.members.imports.domain.report import Level, Problem
from shared.spreadsheet import Cell, Unreadable, column_letter, read_table
from shared.text import fold_width

MAX_ROWS = 20_000  # a whole school's staff fits; a larger file is a mistake


@dataclass
class SourceRow:
    """One data row: its Excel row number and its non-empty cells by field."""

    row: int
    values: dict[str, Cell]
    duplicate_of: int | None = None  # an identical row above: this one is ignored
    conflicts: tuple[int, ...] = ()  # other rows with this staff number and other values

    def to_doc(self) -> dict[str, Any]:
        return {
            "r": self.row,
            "v": {
                k: {"d": v.isoformat()} if isinstance(v, date) else v
                for k, v in self.values.items()
            },
            "d": self.duplicate_of,
            "c": list(self.conflicts),
        }

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> SourceRow:
        values = {
            k: date.fromisoformat(v["d"]) if isinstance(v, dict) else v for k, v in doc["v"].items()
        }
        return cls(doc["r"], values, doc.get("d"), tuple(doc.get("c", ())))


@dataclass
class Upload:
    """A parsed file: where its columns are, its rows, and what is wrong with it as a whole."""

    format: str | None
    header: Header | None
    rows: list[SourceRow]
    problems: list[Problem]
    epoch_1904: bool = False

    @property
    def columns(self) -> dict[str, ColumnAt]:
        return self.header.columns if self.header else {}


def parse_upload(data: bytes, has_default_campus: bool) -> Upload:
    """Rows of a CSV or XLSX member list, or the file's problems when it cannot be used."""
    try:
        table = read_table(data, MAX_ROWS + 11)
    except Unreadable as exc:
        return Upload(None, None, [], [_file_problem("import.unreadable_file", exc.message)])
    if not table.rows:
        return Upload(table.format, None, [], [_file_problem("import.empty_file", "文件是空的")])
    header = find_header(table.rows, has_default_campus)
    problems = [
        Problem(
            row=header.row,
            column=p.column,
            cell=f"{column_letter(p.index)}{header.row}" if p.index is not None else None,
            code=p.code,
            message=p.message,
            level=Level(p.level),
        )
        for p in header.problems
    ]
    if not header.usable:
        return Upload(table.format, header, [], problems, table.epoch_1904)
    rows = []
    for number, cells in table.rows:
        if number <= header.row:
            continue
        values = {
            f: cells[at.index]
            for f, at in header.columns.items()
            if at.index < len(cells) and not _blank(cells[at.index])
        }
        if values:
            rows.append(SourceRow(number, values))
    if len(rows) > MAX_ROWS:
        problems.append(
            _file_problem("import.too_many_rows", f"一次最多导入 {MAX_ROWS} 行，请把文件拆开导入")
        )
        return Upload(table.format, header, [], problems, table.epoch_1904)
    if not rows:
        problems.append(_file_problem("import.empty_file", "表头下面没有数据行"))
    mark_duplicates(rows)
    return Upload(table.format, header, rows, problems, table.epoch_1904)


def _file_problem(code: str, message: str) -> Problem:
    return Problem(row=None, column=None, code=code, message=message, level=Level.error)


def _blank(cell: Cell) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())


def mark_duplicates(rows: list[SourceRow]) -> None:
    """Rows of one staff number: identical copies are ignored, different ones all refused
    (which of them is right is for a person to say)."""
    groups: dict[str, list[SourceRow]] = {}
    for row in rows:
        staff_no = row.values.get("staff_no")
        if staff_no is not None:
            groups.setdefault(fold_width(as_text(staff_no)).upper(), []).append(row)
    for group in groups.values():
        if len(group) < 2:
            continue
        identities = {_identity(r) for r in group}
        if len(identities) == 1:
            for row in group[1:]:
                row.duplicate_of = group[0].row
        else:
            numbers = tuple(r.row for r in group)
            for row in group:
                row.conflicts = tuple(n for n in numbers if n != row.row)


def _identity(row: SourceRow) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((k, canonical(v)) for k, v in row.values.items()))
