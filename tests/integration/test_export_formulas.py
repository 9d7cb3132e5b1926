"""A member named like a formula is exported as text, in CSV and in XLSX, on the real servers."""

from __future__ import annotations

import csv
import io
import zipfile

import pytest
from openpyxl import load_workbook

from tests.integration.conftest import Stack, bearer, join
from tests.kafka_tools import wait_until

pytestmark = pytest.mark.integration

HYPERLINK = '=HYPERLINK("http://x","y")'
ADMIN = bearer("admin-1", ["admin"], ["*"])


async def test_a_formula_name_is_exported_as_inert_text(module_stack: Stack):
    stack = module_stack
    await join(stack, "X0001", name=HYPERLINK, department="艺术系", phone="13800000001")

    async def listed() -> bool:
        page = await stack.members_http.get("/members?q=X0001", headers=ADMIN)
        return page.json()["total"] == 1

    await wait_until(listed, 15, "the list view")
    as_csv = await stack.members_http.get("/exports/members.csv?q=X0001", headers=ADMIN)
    assert as_csv.status_code == 200
    [header, row] = list(csv.reader(io.StringIO(as_csv.content.decode("utf-8-sig"))))
    assert dict(zip(header, row, strict=True))["姓名"] == "'" + HYPERLINK

    as_xlsx = await stack.members_http.get("/exports/members.xlsx?q=X0001", headers=ADMIN)
    assert as_xlsx.status_code == 200
    sheet_xml = zipfile.ZipFile(io.BytesIO(as_xlsx.content)).read("xl/worksheets/sheet1.xml")
    assert b"<f>" not in sheet_xml  # no cell of the sheet is a formula
    sheet = load_workbook(io.BytesIO(as_xlsx.content)).active
    assert sheet is not None
    values = [[(c.value, c.data_type) for c in r] for r in sheet.iter_rows()]
    record = dict(zip([v for v, _ in values[0]], values[1], strict=True))
    assert record["姓名"] == ("'" + HYPERLINK, "s")
