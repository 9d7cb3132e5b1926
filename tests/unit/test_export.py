"""The one cell writer of every CSV and XLSX export (shared/export.py): no cell a person typed
runs as a formula when the file is opened, in CSV or in XLSX."""

from __future__ import annotations

import csv
import io
import zipfile
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from shared.export import csv_bytes, safe_cell, xlsx_bytes

HYPERLINK = '=HYPERLINK("http://x","y")'


@pytest.mark.parametrize(
    ("typed", "written"),
    [
        (HYPERLINK, "'" + HYPERLINK),
        ("+86 138", "'+86 138"),
        ("-1+1", "'-1+1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("王芳", "王芳"),
        ("a=b", "a=b"),  # only the first character counts
        ("", ""),
        (None, ""),
    ],
)
def test_text_that_a_spreadsheet_would_run_gets_a_leading_quote(typed, written):
    assert safe_cell(typed) == written


def test_numbers_stay_numbers_even_negative():
    assert safe_cell(-5) == -5 and safe_cell(2.5) == 2.5 and safe_cell(True) == "是"


def test_csv_is_utf8_with_bom_and_every_cell_neutralised():
    data = csv_bytes(["姓名", "=表头"], [[HYPERLINK, 3], ["王芳", None]])
    assert data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows == [["姓名", "'=表头"], ["'" + HYPERLINK, "3"], ["王芳", ""]]


def test_xlsx_writes_text_as_text_never_as_a_formula():
    data = xlsx_bytes("名册", ["姓名", "人数"], [[HYPERLINK, 3], ["-1", -1]])
    sheet_xml = zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet_xml  # no formula element anywhere
    book = load_workbook(io.BytesIO(data))
    sheet = book["名册"]
    cells = [[(c.value, c.data_type) for c in row] for row in sheet.iter_rows()]
    assert cells == [
        [("姓名", "s"), ("人数", "s")],
        [("'" + HYPERLINK, "s"), (3, "n")],
        [("'-1", "s"), (-1, "n")],
    ]


def test_an_amount_in_yuan_is_a_number_with_its_two_decimals_even_negative():
    refund = Decimal("-128.00")
    assert safe_cell(refund) == refund  # a number: no quote, even with its minus sign
    data = csv_bytes(["金额（元）"], [[refund], [Decimal("5000.00")]])
    assert list(csv.reader(io.StringIO(data.decode("utf-8-sig")))) == [
        ["金额（元）"],
        ["-128.00"],
        ["5000.00"],
    ]
    sheet = load_workbook(io.BytesIO(xlsx_bytes("汇总", ["金额（元）"], [[refund]])))["汇总"]
    cell = sheet["A2"]
    assert (cell.value, cell.data_type, cell.number_format) == (-128.0, "n", "0.00")
