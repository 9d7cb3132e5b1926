"""Spreadsheets made to hurt a reader: a row bomb and a zip bomb, built from raw XML so that no
library tidies them up. Shared by the unit and the integration tests of the upload bounds."""

from __future__ import annotations

import io
import zipfile

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.spreadsheetml.worksheet+xml"/>'
    "</Types>"
)
_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="名单" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>'
)
_NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'


def _cell(ref: str, text: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'


def _book(sheet: str | None = None, big_sheet_mb: int = 0) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", _CONTENT_TYPES)
        z.writestr("_rels/.rels", _RELS)
        z.writestr("xl/workbook.xml", _WORKBOOK)
        z.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        if sheet is not None:
            z.writestr("xl/worksheets/sheet1.xml", sheet)
        else:
            # A valid sheet whose XML goes on for `big_sheet_mb` MB of blanks: a few hundred KB
            # packed. Written in pieces so the test itself never holds it whole.
            with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as f:
                f.write(f'<worksheet {_NS}><sheetData><row r="1">'.encode())
                f.write(_cell("A1", "工号").encode())
                blank = b" " * (1024 * 1024)
                for _ in range(big_sheet_mb):
                    f.write(blank)
                f.write(b"</row></sheetData></worksheet>")
    return out.getvalue()


def row_bomb() -> bytes:
    """A header, one row, and a cell in the last row Excel has (1,048,576): every row between
    exists for a reader, and the dimension says so too."""
    rows = (
        f'<row r="1">{_cell("A1", "工号")}{_cell("B1", "姓名")}</row>'
        f'<row r="2">{_cell("A2", "T1")}{_cell("B2", "王芳")}</row>'
        f'<row r="1048576">{_cell("A1048576", "x")}</row>'
    )
    return _book(f"<worksheet {_NS}><sheetData>{rows}</sheetData></worksheet>")


def dimension_bomb() -> bytes:
    """Two real rows, and a <dimension> claiming the whole of Excel's grid: a reader trusting
    it makes up a million empty rows of 16,384 cells."""
    rows = f'<row r="1">{_cell("A1", "工号")}</row><row r="2">{_cell("A2", "T1")}</row>'
    return _book(
        f'<worksheet {_NS}><dimension ref="A1:XFD1048576"/><sheetData>{rows}</sheetData></worksheet>'
    )


def zip_bomb(megabytes: int = 300) -> bytes:
    """A small file that unpacks to `megabytes` MB of XML."""
    return _book(big_sheet_mb=megabytes)
