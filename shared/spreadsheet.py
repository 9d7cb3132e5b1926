"""Reading the tables a school really sends: CSV from Chinese Excel, or an XLSX workbook.

What arrives is messy in known ways, and this module absorbs the *file* part of it:

- CSV saved by Chinese Excel is GBK (GB18030 is its superset), saved as "CSV UTF-8" it starts
  with a byte-order mark, and from other tools it is plain UTF-8. Tried in that order: UTF-8
  (BOM or not) is strict enough that GBK text almost never decodes as UTF-8 by accident.
- An XLSX cell is a string, a number, a date (a number with a date format) or empty. A date
  typed into a cell formatted as "General" or "Text" stays a number (an Excel *serial*: days
  since 1899-12-30) or a text; `excel_date` turns a serial into a date.

Rows keep the row number Excel shows (the first row is 1), so a report can point at the row
a person sees. What the cells *mean* (which column is which field) is the caller's business.
"""

from __future__ import annotations

import asyncio
import csv
import functools
import io
import zipfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal, ParamSpec, TypeVar

Cell = str | int | float | date | None
Format = Literal["csv", "xlsx"]

MAX_COLUMNS = 200  # a wider "table" is not a list of people; the rest is ignored
# Bounds on what a file may make us do before a single row is checked: rows counted with the
# empty ones (a cell in row 1,048,576 makes every row above it exist), and the unpacked size
# of an XLSX (a zip of a few KB can unpack to GBs of XML). A real list of a school's staff is
# far inside both: 20,000 rows of 15 columns unpack to about 25 MB.
MAX_SHEET_ROWS = 100_000
MAX_UNPACKED_BYTES = 100 * 1024 * 1024


class Unreadable(Exception):
    """The bytes are neither a CSV text nor an XLSX workbook that can be opened."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message  # zh-CN, for the person who uploaded the file


class Oversized(Exception):
    """The file is beyond the bounds above: refused before it is read any further."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code  # stable: too_many_rows, unpacked_too_large
        self.message = message  # zh-CN


@dataclass(frozen=True)
class Table:
    """The first sheet of a file: (Excel row number, cells) for every row that has a value."""

    format: Format
    rows: list[tuple[int, list[Cell]]]
    epoch_1904: bool = False  # an old Mac workbook counts its serials from 1904


# Reading a workbook is CPU work in Python (openpyxl): it runs on these threads, never on the
# event loop and never in the default pool, where members hashes passwords — a large upload
# must not make every sign-in queue behind it.
_READERS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="gonghui-spreadsheet")


P = ParamSpec("P")
T = TypeVar("T")


async def off_the_loop(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """`fn(*args)` on the spreadsheet readers' own threads."""
    return await asyncio.get_running_loop().run_in_executor(
        _READERS, functools.partial(fn, *args, **kwargs)
    )


def read_table(data: bytes, max_rows: int) -> Table:
    """The rows of a CSV or XLSX file (detected from the bytes, not the name).

    Stops after `max_rows` rows with a value (the caller says "too many" when it gets that
    many). Raises `Oversized` past the bounds above, `Unreadable` for anything else.
    """
    if data[:4] == b"PK\x03\x04":
        return _read_xlsx(data, max_rows)
    return Table("csv", list(_limited(_csv_rows(decode_text(data)), max_rows)))


def decode_text(data: bytes) -> str:
    """The text of a CSV file: UTF-8 (with or without BOM), else GB18030 (GBK, GB2312)."""
    if b"\x00" in data[:4096]:
        # UTF-16 (Excel's "Unicode text") or a binary file: not a CSV we can read.
        raise Unreadable("无法读取文件：请另存为 CSV（UTF-8 或 GBK 编码）或 Excel（.xlsx）后再上传")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise Unreadable("无法识别文件的文字编码：请另存为 CSV（UTF-8）或 Excel（.xlsx）后再上传")


def _csv_rows(text: str) -> Iterator[tuple[int, list[Cell]]]:
    sample = text[:4096]
    delimiter = "\t" if sample.count("\t") > sample.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        # Excel shows a record as one row even when a quoted cell spans lines, and a blank
        # line as a blank row: the record's index is the row number a person sees.
        for number, cells in enumerate(reader, start=1):
            if number > MAX_SHEET_ROWS:  # empty rows count: each one costs as much to read
                raise _too_many_rows()
            values: list[Cell] = list(cells[:MAX_COLUMNS])
            if any(isinstance(v, str) and v.strip() for v in values):
                yield number, values
    except csv.Error as exc:
        raise Unreadable(f"CSV 格式有误（第 {reader.line_num} 行）：{exc}") from exc


def _read_xlsx(data: bytes, max_rows: int) -> Table:
    from openpyxl import load_workbook

    _check_unpacked_size(data)
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, TypeError) as exc:
        raise Unreadable(
            "无法打开 Excel 文件：请确认是 .xlsx 格式（不是 .xls 或加密文件）"
        ) from exc
    except Exception as exc:  # openpyxl raises many kinds on a damaged workbook
        raise Unreadable("无法打开 Excel 文件：文件可能已损坏") from exc
    try:
        sheet = book.worksheets[0] if book.worksheets else None
        if sheet is None:
            raise Unreadable("Excel 文件中没有工作表")
        if (sheet.max_row or 0) > MAX_SHEET_ROWS:  # the sheet's own <dimension> says so
            raise _too_many_rows()
        cells = sheet.iter_rows(values_only=True, max_col=MAX_COLUMNS, max_row=MAX_SHEET_ROWS + 1)
        rows = _xlsx_rows(cells)
        return Table("xlsx", list(_limited(rows, max_rows)), epoch_1904=_is_1904(book))
    except (Unreadable, Oversized):
        raise
    except Exception as exc:
        raise Unreadable("无法读取 Excel 文件：文件可能已损坏") from exc
    finally:
        book.close()


def _check_unpacked_size(data: bytes) -> None:
    """Refuses a zip that unpacks to more than the bound, from its directory, before a byte
    is unpacked. The sizes are the declared ones, and they hold: Python's zipfile stops a
    member at its declared size (and fails on a mismatched CRC)."""
    try:
        members = zipfile.ZipFile(io.BytesIO(data)).infolist()
    except (zipfile.BadZipFile, ValueError, OSError):
        return  # not a zip after all: openpyxl says it cannot open it
    if sum(m.file_size for m in members) > MAX_UNPACKED_BYTES:
        raise Oversized(
            "unpacked_too_large",
            f"Excel 文件解压后超过 {MAX_UNPACKED_BYTES // 1024 // 1024} MB，"
            "不像是一份名单：请删去多余的工作表和内容，或另存为 CSV 后再上传",
        )


def _too_many_rows() -> Oversized:
    return Oversized(
        "too_many_rows",
        f"表格超过 {MAX_SHEET_ROWS} 行（含空行）：请删去名单下面的空行和多余内容，或拆分后再上传",
    )


def _xlsx_rows(rows: Iterator[tuple[object, ...]]) -> Iterator[tuple[int, list[Cell]]]:
    for number, raw in enumerate(rows, start=1):
        if number > MAX_SHEET_ROWS:  # empty rows count (openpyxl makes up each missing one)
            raise _too_many_rows()
        if raw.count(None) == len(raw):  # an empty row, counted at C speed: there may be many
            continue
        values = [_xlsx_cell(v) for v in raw]
        if any(v is not None and (not isinstance(v, str) or v.strip()) for v in values):
            yield number, values


def _xlsx_cell(value: object) -> Cell:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):  # before int: a bool is an int
        return "TRUE" if value else "FALSE"
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | float):
        return value
    return str(value)  # a time of day, a duration: text is the honest form


def _is_1904(book: object) -> bool:
    from openpyxl.utils.datetime import MAC_EPOCH

    return getattr(book, "epoch", None) == MAC_EPOCH


def _limited(
    rows: Iterator[tuple[int, list[Cell]]], max_rows: int
) -> Iterator[tuple[int, list[Cell]]]:
    for i, row in enumerate(rows):
        if i >= max_rows:
            return
        yield row


# Excel's serial dates: day 1 is 1900-01-01, and day 60 is 29 February 1900, a day that never
# was (a Lotus 1-2-3 bug Excel keeps); from day 61 on, serial + 1899-12-30 is the date.
_EPOCH_1900 = date(1899, 12, 30)
_EPOCH_1904 = date(1904, 1, 1)
MAX_SERIAL = 2_958_465  # 9999-12-31


def excel_date(serial: float, epoch_1904: bool = False) -> date | None:
    """The date of an Excel serial number (the time of day dropped), or None if it is none."""
    if not 1 <= serial < MAX_SERIAL + 1:
        return None
    whole = int(serial)
    if epoch_1904:
        return _EPOCH_1904 + timedelta(days=whole)
    if whole == 60:
        return None
    if whole < 60:
        return date(1899, 12, 31) + timedelta(days=whole)
    return _EPOCH_1900 + timedelta(days=whole)


def column_letter(index: int) -> str:
    """Excel's name of the column at 0-based `index`: 0 → A, 25 → Z, 26 → AA."""
    name = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        name = chr(ord("A") + rest) + name
    return name


__all__ = [
    "MAX_SHEET_ROWS",
    "MAX_UNPACKED_BYTES",
    "Cell",
    "Oversized",
    "Table",
    "Unreadable",
    "column_letter",
    "decode_text",
    "excel_date",
    "off_the_loop",
    "read_table",
]
