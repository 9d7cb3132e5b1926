"""Bulk import (新教师入会) in the bench: 5,000 new staff from one XLSX, dry run then commit.

Drives the members service the way the CLI does: POST /imports (multipart) through the whole
FastAPI app, then GET /imports/{id} until the job is done. The figures are rows per second of
the whole job — parsing the workbook, checking every row against the membership rules and the
organisation, looking the staff numbers up, and (commit) writing each member with its events
through the outbox — next to the raw insert rate of the same run.
"""

from __future__ import annotations

import io
import sys
from datetime import date, timedelta
from typing import Any

import httpx
from openpyxl import Workbook

from deploy.bench.measure import Target, clock, wait_for
from deploy.bench.paths import DEPARTMENTS, services
from deploy.bench.report import Measurement
from shared.auth import mint_token

HEADER = ["工号", "姓名", "性别", "出生日期", "校区", "部门", "职务", "用工形式", "入职日期"]
HEADER += ["手机", "邮箱", "身份证号"]
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def id_number(i: int, born: date) -> str:
    """A mainland ID number with a right check digit (GB 11643), unique per i."""
    body = f"110101{born:%Y%m%d}{i % 1000:03d}"
    total = sum(int(d) * w for d, w in zip(body, _WEIGHTS, strict=True))
    return body + "10X98765432"[total % 11]


def workbook(n: int, tag: str = "N") -> bytes:
    """n new teachers as a school's HR sends them: Chinese header, date cells, numbers."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet("新教师")
    sheet.append(HEADER)
    for i in range(n):
        born = date(1990, 1, 1) + timedelta(days=i % 3650)
        sheet.append(
            [
                f"{tag}{i:06d}",
                f"新老师{i}",
                "女" if i % 2 else "男",
                born,
                "main",
                DEPARTMENTS[i % len(DEPARTMENTS)],
                "教师",
                "合同",
                date(2026, 8, 25),
                13800000000 + i,
                f"t{i}@school.local",
                id_number(i, born),
            ]
        )
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def _run(http: httpx.AsyncClient, data: bytes, timeout_s: float, **params: Any) -> dict:
    response = await http.post(
        "/imports",
        files={"file": ("新教师.xlsx", data)},
        params={k: str(v).lower() for k, v in params.items()},
    )
    if response.status_code != 202:
        raise AssertionError(f"POST /imports: {response.status_code} {response.text[:300]}")
    url = f"/imports/{response.json()['id']}"
    found: dict[str, Any] = {}

    async def done() -> bool:
        found.update((await http.get(url, params={"limit": 1})).json())
        return found.get("state") == "done"

    await wait_for(done, timeout_s, "the import to finish", 0.25)  # the CLI asks each 0.5 s
    return found


async def import_paths(target: Target, n: int = 5000) -> list[Measurement]:
    """A dry run of n new members, then the commit of the same file (all or nothing)."""
    async with services(target, "import", "members") as [members]:
        token = mint_token("bench-admin", ["admin"], ["*"])
        http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=members.app),
            base_url="http://members",
            timeout=60,
            headers={"Authorization": f"Bearer {token}"},
        )
        data = workbook(n)
        try:
            started = clock()
            checked = await _run(http, data, target.timeout_s * 5)
            check_s = clock() - started
            say(f"  dry run {check_s:.1f} s")
            started = clock()
            committed = await _run(http, data, target.timeout_s * 5, commit=True, active=True)
            commit_s = clock() - started
            say(f"  commit {commit_s:.1f} s")
        finally:
            await http.aclose()
    for report, what, key in ((checked, "dry run", "create"), (committed, "commit", "create")):
        if report["counts"][key] != n:
            raise AssertionError(f"import {what}: {report['counts']} (expected {n} {key})")
    size = f"{len(data) / 1024 / 1024:.1f} MB XLSX"
    return [
        Measurement(
            "import.check",
            f"dry run: POST /imports until the report ({size})",
            n,
            check_s,
            unit="rows",
            compare_to=("mongo.insert",),
        ),
        Measurement(
            "import.commit",
            "commit (check all, then write each member with its events)",
            n,
            commit_s,
            unit="rows",
            compare_to=("mongo.insert",),
        ),
        Measurement(
            "import",
            "dry run + commit, as a cadre does it",
            n,
            check_s + commit_s,
            unit="rows",
            compare_to=("mongo.insert",),
            note=f"{check_s + commit_s:.1f} s for {n:,} members",
        ),
    ]


__all__ = ["import_paths", "workbook"]
