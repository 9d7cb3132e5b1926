"""Writing the tables people open in Excel: every CSV and XLSX export goes through here.

A cell a person typed (a name, a department, a note) can start with `=`, `+`, `-` or `@`:
Excel and WPS run such a cell as a formula when the file is opened (CSV injection, e.g. a
member named `=HYPERLINK("http://x","点击")`). So every text cell that starts with one of
those, or with a tab or a carriage return (which some spreadsheet programs strip before they
look), gets a leading `'`, which Excel shows as text and never evaluates. In XLSX the cell is
also written with the explicit string type, so even a program that ignores the `'` reads a
text, not a formula. Numbers stay numbers (a count, a sum): they are not text a person typed;
a `Decimal` (an amount in yuan to the fen) is a number too, shown with its decimals.

`safe_cell` is the one rule; `csv_bytes` and `xlsx_bytes` the two ways to write a table.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

Value = str | int | float | Decimal | None

# The first characters that make a spreadsheet read a cell as a formula (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Value) -> str | int | float | Decimal:
    """The cell as it is written: text neutralised with a leading `'`, numbers as they are."""
    if value is None:
        return ""
    if isinstance(value, bool):  # before int: a bool is an int
        return "是" if value else "否"
    if isinstance(value, int | float | Decimal):
        return value
    text = str(value)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[Value]]) -> bytes:
    """A CSV file as Chinese Excel opens it: UTF-8 with a byte-order mark, CRLF line ends."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([safe_cell(h) for h in header])
    for row in rows:
        writer.writerow([safe_cell(v) for v in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def xlsx_bytes(title: str, header: Sequence[str], rows: Iterable[Sequence[Value]]) -> bytes:
    """An XLSX workbook of one sheet; every text cell has the explicit string type."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    book = Workbook(write_only=True)
    sheet = book.create_sheet(title)

    def cells(values: Sequence[Value]) -> list[Any]:
        out = []
        for v in values:
            value = safe_cell(v)
            cell = WriteOnlyCell(sheet, value=float(value) if isinstance(value, Decimal) else value)
            if isinstance(cell.value, str):
                # openpyxl would guess "formula" for a text starting with "=": say "string".
                cell.data_type = "s"
            elif isinstance(v, Decimal) and v.is_finite():  # a number shown with its decimals
                places = max(0, -int(v.as_tuple().exponent))
                cell.number_format = f"0.{'0' * places}" if places else "0"
            out.append(cell)
        return out

    sheet.append(cells(header))
    for row in rows:
        sheet.append(cells(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


__all__ = ["FORMULA_STARTS", "csv_bytes", "safe_cell", "xlsx_bytes"]
