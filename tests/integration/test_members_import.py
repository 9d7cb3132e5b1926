"""Bulk import (新教师入会) over HTTP on the real broker and database: the per-row report,
both commit modes, re-import as a no-op, the encodings and formats schools send, progress,
concurrent commits, a restart mid-way, and who may do it."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections import Counter
from datetime import datetime

import httpx
import pytest
from openpyxl import Workbook

from services.members.bootstrap import bootstrap
from services.members.imports.cli import import_members, width
from services.members.membership.domain import member_id_for
from services.members.settings import MembersSettings
from tests.integration.conftest import Stack, bearer, join, settings_for, stack_fixture
from tests.kafka_tools import read_all, wait_until

pytestmark = pytest.mark.integration

# One members service for the module (nothing here reads notify): each test's rows carry
# staff numbers of its own (`prefix`), and a test that counts what was written compares before
# and after (the tests run one at a time).
stack = stack_fixture("members", scope="module")
own_stack = stack_fixture("members", name="own_stack")

HEADER = [
    "工号",
    "姓名",
    "性别",
    "出生日期",
    "校区",
    "部门",
    "手机",
    "邮箱",
    "身份证号",
    "教工小家",
]
GOOD_ID = "11010119900307451X"  # the check digit is right
BAD_CHECK = "110101199003074510"  # 18 digits, the check digit is wrong


def full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) for c in text)  # Ｔ２０２６…: as an IME types


def mixed(p: str) -> list[list[str]]:
    """One file with good rows and each kind of bad row a school's list really has (row 1 =
    header); its staff numbers start with `p`, the test's own."""
    chen = [
        f"{p}2026001",
        "陈静",
        "女",
        "1995-04-12",
        "main",
        "艺术系",
        "13912345678",
        "chen@school.local",
        "",
        "艺术教工小家",
    ]
    return [
        chen,
        [
            f" {full_width(p + '2026002')} ",
            " 李　明 ",
            "男",
            "1996/7/1",
            "main校区",
            "体育部",
            "１３９ １２３４ ５６７９",
            "",
            "",
            "",
        ],
        [f"{p}#003", "王五", "男", "", "main", "艺术系", "", "", "", ""],
        [f"{p}2026004", "", "女", "", "main", "艺术系", "", "", "", ""],
        [f"{p}2026005", "赵六", "女", "", "main", "美术系", "", "", "", ""],
        [f"{p}2026006", "钱七", "男", "", "main", "艺术系", "1391234", "", "", ""],
        [f"{p}2026007", "孙八", "女", "1990-02-30", "main", "艺术系", "", "", "", ""],
        [f"{p}2026008", "周九", "男", "", "main", "艺术系", "", "", "", ""],
        [f"{p}2026008", "周久", "男", "", "main", "艺术系", "", "", "", ""],
        [f"{p}2026010", "吴十", "女", "", "north", "艺术系", "", "", "", ""],
        list(chen),
        [f"{p}2026012", "郑一", "女", "", "main", "音乐系", "", "", BAD_CHECK, ""],
        [f"{p}2026013", "王芳", "女", "", "main", "学前教育系", "13800000013", "", "", ""],
        [f"{p}2026014", "王芳", "女", "", "main", "学前教育系", "13800000099", "", "", ""],
        [f"{p}2026015", "冯二", "男", "", "xyz", "艺术系", "", "", "", ""],
        [f"{p}2026016", "陈三", "未知", "", "main", "艺术系", "", "", "", ""],
    ]


# (row, outcome, [(column, cell, code, level)], changed) — the report a person reads.
EXPECTED = [
    (2, "create", [], []),
    (3, "create", [], []),
    (4, "refused", [("工号", "A4", "member.invalid_staff_no", "error")], []),
    (5, "refused", [("姓名", "B5", "member.name_required", "error")], []),
    (6, "refused", [("部门", "F6", "org.unknown_department", "error")], []),
    (7, "refused", [("手机", "G7", "member.invalid_phone", "error")], []),
    (8, "refused", [("出生日期", "D8", "import.invalid_date", "error")], []),
    (9, "refused", [("工号", "A9", "import.conflicting_rows", "error")], []),
    (10, "refused", [("工号", "A10", "import.conflicting_rows", "error")], []),
    (11, "refused", [("校区", "E11", "import.campus_forbidden", "error")], []),
    (12, "duplicate", [(None, None, "import.duplicate_row", "warning")], []),
    (13, "create", [("身份证号", "I13", "member.id_number_check_digit", "warning")], []),
    (14, "unchanged", [], []),
    (15, "update", [], ["手机"]),
    (16, "refused", [("校区", "E16", "org.unknown_campus", "error")], []),
    (17, "refused", [("性别", "C17", "import.invalid_gender", "error")], []),
]
GOOD = {"2026001", "2026002", "2026012"}  # created by a commit of the mixed file (+ prefix)


@pytest.fixture
def prefix(unique: str) -> str:
    """The start of every staff number a test uses: no other test's (T + 12 hex digits)."""
    return unique.upper()


def to_csv(rows: list[list[str]], encoding: str = "utf-8-sig", header=HEADER) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def shape(report: dict) -> list[tuple]:
    return [
        (
            r["row"],
            r["outcome"],
            [(p["column"], p["cell"], p["code"], p["level"]) for p in r["problems"]],
            r["changed"],
        )
        for r in report["rows"]
    ]


async def upload(stack: Stack, data: bytes, headers=None, name="名单.csv", **params) -> dict:
    response = await stack.members_http.post(
        "/imports",
        files={"file": (name, data, "application/octet-stream")},
        params={k: str(v).lower() for k, v in params.items()},
        headers=headers or stack.cadre_headers(),
    )
    assert response.status_code == 202, response.text
    body = response.json()
    assert response.headers["location"] == f"/imports/{body['id']}"
    return body


async def finished(stack: Stack, job_id: str, headers=None) -> dict:
    headers = headers or stack.cadre_headers()
    seen: list[tuple[int, int]] = []

    async def done() -> bool:
        body = (await stack.members_http.get(f"/imports/{job_id}", headers=headers)).json()
        seen.append((body["progress"]["done"], body["progress"]["total"]))
        return body["state"] == "done"

    await wait_until(done, 60, f"import {job_id} to finish")
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)  # progress never goes back
    params = {"limit": 20000}
    response = await stack.members_http.get(f"/imports/{job_id}", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def run_import(stack: Stack, data: bytes, headers=None, **params) -> dict:
    job = await upload(stack, data, headers, **params)
    return await finished(stack, job["id"], headers)


async def changes(stack: Stack) -> int:
    return await stack.members.db["members_changes"].count_documents({})


async def published(stack: Stack) -> list[dict]:
    await wait_until(lambda: _relayed(stack), 30, "the outbox to be published")
    records = await read_all(stack.bootstrap, stack.topic("members.member"))
    return [json.loads(r.value) for r in records]


async def _relayed(stack: Stack) -> bool:
    return await stack.members.relay.backlog() == 0


async def enrol_existing(stack: Stack, p: str) -> None:
    for staff_no, phone in (("2026013", "13800000013"), ("2026014", "13800000014")):
        await join(stack, p + staff_no, gender="female", phone=phone, as_applicant=True)


async def test_a_dry_run_reports_every_row_and_writes_nothing(stack: Stack, prefix: str):
    await enrol_existing(stack, prefix)
    before = await changes(stack)
    report = await run_import(stack, to_csv(mixed(prefix)))
    assert shape(report) == EXPECTED
    assert report["counts"] == {
        "rows": 16,
        "create": 3,
        "update": 1,
        "unchanged": 1,
        "refused": 10,
        "duplicate": 1,
        "warnings": 1,
    }
    assert report["written"] is False and report["commit"] is False
    assert report["summary"].startswith("检查完成（未写入）")
    assert report["file_format"] == "csv" and report["file_problems"] == []
    rows = {r["row"]: r for r in report["rows"]}
    assert rows[3]["staff_no"] == f"{prefix}2026002" and rows[3]["name"] == "李 明"  # full width
    messages = {r["row"]: [p["message"] for p in r["problems"]] for r in report["rows"]}
    assert messages[7] == ["手机号「1391234」应为 11 位数字"]
    assert messages[8] == ["出生日期「1990-02-30」不是有效日期，请写成 1990-03-08"]
    assert messages[9] == [f"工号「{prefix}2026008」在第 10 行也出现，且内容不同；请只保留一行"]
    assert messages[11] == ["无权导入校区「north校区」的会员"]
    assert messages[12] == ["与第 2 行完全相同，已忽略"]
    assert messages[6] == ["校区「main校区」没有部门「美术系」"]
    assert await changes(stack) == before  # a dry run writes nothing

    refused = await stack.members_http.get(
        f"/imports/{report['id']}",
        params={"outcome": "refused", "limit": 3, "offset": 1},
        headers=stack.cadre_headers(),
    )
    page = refused.json()
    assert [r["row"] for r in page["rows"]] == [5, 6, 7] and page["rows_matching"] == 10


async def test_all_or_nothing_writes_nothing_when_a_row_is_refused(stack: Stack, prefix: str):
    await enrol_existing(stack, prefix)
    before = await changes(stack)
    report = await run_import(stack, to_csv(mixed(prefix)), commit=True)
    assert shape(report) == EXPECTED  # the check that stopped it, row by row
    assert report["written"] is False
    assert "10 行有误，未导入任何数据" in report["summary"]
    assert await changes(stack) == before


async def test_only_valid_writes_exactly_the_good_rows_and_a_second_import_changes_nothing(
    stack: Stack, prefix: str
):
    await enrol_existing(stack, prefix)
    before = await changes(stack)
    report = await run_import(stack, to_csv(mixed(prefix)), commit=True, only_valid=True)
    assert shape(report) == EXPECTED
    assert report["written"] is True and report["summary"].startswith("导入完成")
    imported = await stack.members.db["members_changes"].find({"action": "import"}).to_list()
    created = [c for c in imported if c["state"]["staff_no"].startswith(prefix)]  # this file's
    assert sorted((c["state"]["staff_no"][len(prefix) :], c["version"]) for c in created) == [
        ("2026001", 1),
        ("2026002", 1),
        ("2026012", 1),
        ("2026014", 2),
    ]
    assert await changes(stack) == before + 4
    for change in created:  # the uploader, the upload's request: the audit trail
        assert change["by"] == "cadre-1" and change["request"]
    updated = next(c for c in created if c["version"] == 2)
    assert list(updated["changed"]) == ["phone"]
    new = {m: await _member(stack, member_id_for(prefix + m)) for m in GOOD}
    assert {m["status"] for m in new.values()} == {"applied"}  # applicants unless told
    assert new["2026002"]["name"] == "李 明" and new["2026002"]["birth_date"] == "1996-07-01"
    assert new["2026001"]["small_group"] == "g-art"
    events = await published(stack)
    kinds = Counter((e["subject"], e["type"]) for e in events)
    for staff_no in GOOD:
        assert kinds[(member_id_for(prefix + staff_no), "members.member.applied.v1")] == 1
    assert kinds[(member_id_for(prefix + "2026014"), "members.member.updated.v1")] == 1

    again = await run_import(stack, to_csv(mixed(prefix)), commit=True, only_valid=True)
    outcomes = {r["row"]: r["outcome"] for r in again["rows"]}
    assert [outcomes[n] for n in (2, 3, 13, 14, 15)] == ["unchanged"] * 5
    assert again["counts"]["create"] == again["counts"]["update"] == 0
    assert await changes(stack) == before + 4  # no new change records …
    assert len(await published(stack)) == len(events)  # … and no new events


async def _member(stack: Stack, member_id: str) -> dict:
    response = await stack.members_http.get(f"/members/{member_id}", headers=stack.cadre_headers())
    assert response.status_code == 200, response.text
    return response.json()


def xlsx(rows: list[list[object]], header=HEADER) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["2026 年新教师入会名单"])  # a title above the header, as schools do
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    sheet["D4"].number_format = "yyyy-mm-dd"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def test_gbk_csv_utf8_bom_csv_and_xlsx_with_date_cells_all_import(stack: Stack, prefix: str):
    p = prefix
    gbk = to_csv([[f"{p}G001", "张伟", "男", "1988年3月5日", "main", "音乐系"] + [""] * 4], "gbk")
    bom = to_csv([[f"{p}B001", "刘洋", "女", "19920708", "main", "艺术系", "", "", "", ""]])
    excel = xlsx(
        [
            [f"{p}X001", "黄磊", "男", datetime(1985, 1, 2), "main", "体育部", 13912340001]
            + [""] * 3,
            [f"{p}X002", "何静", "女", 33604, "main", "体育部", "", "", GOOD_ID, "体育教工小家"],
            [f"{p}X003", "罗兰", "女", "1993-11-30", "main", "体育部", "", "", "", ""],
        ]
    )
    born = {}
    for data, name in ((gbk, "gbk.csv"), (bom, "bom.csv"), (excel, "名单.xlsx")):
        job = await upload(stack, data, name=name, commit=True, active=True)
        report = await finished(stack, job["id"])
        assert report["written"] is True, report
        assert all(r["outcome"] == "create" for r in report["rows"]), report["rows"]
        assert report["file_format"] == ("xlsx" if name.endswith("xlsx") else "csv")
        for r in report["rows"]:
            member = await _member(stack, member_id_for(r["staff_no"]))
            assert member["status"] == "active"
            born[r["staff_no"][len(p) :]] = (r["row"], member["birth_date"], member["phone"])
    assert born == {
        "G001": (2, "1988-03-05", None),
        "B001": (2, "1992-07-08", None),
        "X001": (3, "1985-01-02", "139****0001"),  # a number cell; rows count from the title
        "X002": (4, "1992-01-01", None),  # an Excel serial number in a General cell
        "X003": (5, "1993-11-30", None),
    }


async def test_a_file_that_cannot_be_read_is_a_job_whose_report_says_so(stack: Stack, prefix: str):
    report = await run_import(stack, b"\x00\x01\x02garbage", commit=True)
    assert report["written"] is False and report["rows"] == []
    assert [(p["code"], p["row"]) for p in report["file_problems"]] == [
        ("import.unreadable_file", None)
    ]
    headless = await run_import(stack, "名字,电话\n王,1\n".encode())
    assert [p["code"] for p in headless["file_problems"]] == ["import.no_header"]
    missing = await run_import(stack, to_csv([[prefix, "王"]], header=["工号", "姓名"]))
    assert [(p["code"], p["column"]) for p in missing["file_problems"]] == [
        ("import.missing_column", "部门")  # the cadre of one campus may leave 校区 out
    ]


async def test_progress_can_be_polled_until_the_report_is_there(
    stack: Stack, prefix: str, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(stack.members.context.imports, "chunk_rows", 20)  # back after the test
    rows = [
        [f"{prefix}{i:04d}", f"进度{i}", "", "", "main", "艺术系"] + [""] * 4 for i in range(100)
    ]
    job = await upload(stack, to_csv(rows), commit=True)
    assert job["state"] in ("queued", "running", "done")
    assert job["progress"]["total"] == 200  # every row checked, then every row written
    report = await finished(stack, job["id"])
    assert report["progress"] == {"phase": None, "done": 200, "total": 200}
    assert report["counts"]["create"] == 100 and report["written"] is True


async def test_two_concurrent_commits_of_one_file_create_each_member_once(
    stack: Stack, prefix: str, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(stack.members.context.imports, "chunk_rows", 15)  # back after the test
    rows = [
        [f"{prefix}{i:04d}", f"并发{i}", "", "", "main", "艺术系"] + [""] * 4 for i in range(60)
    ]
    ids = {member_id_for(row[0]) for row in rows}
    data = to_csv(rows)
    log = stack.members.db["members_changes"]
    before = await log.count_documents({"version": 1})
    jobs = await asyncio.gather(
        upload(stack, data, commit=True, only_valid=True), upload(stack, data, commit=True)
    )
    reports = [await finished(stack, j["id"]) for j in jobs]
    first = await log.count_documents({"version": 1})
    assert first == before + 60
    assert sum(r["counts"]["create"] for r in reports) == 60
    for r in reports:
        assert r["counts"]["create"] + r["counts"]["unchanged"] == 60
    events = await published(stack)
    applied = Counter(
        e["subject"] for e in events if e["type"].endswith("applied.v1") and e["subject"] in ids
    )
    assert len(applied) == 60 and set(applied.values()) == {1}


async def test_a_job_resumes_on_another_replica_after_a_crash_mid_way(own_stack: Stack):
    # Its own stack: it kills the stack's import worker and counts every member written.
    stack = own_stack
    imports = stack.members.context.imports
    imports.chunk_rows = 10
    imports.runner.lease_s = 1.0  # what the crashed replica held runs out quickly
    rows = [[f"R{i:04d}", f"重启{i}", "", "", "main", "艺术系", "", "", "", ""] for i in range(200)]
    job = await upload(stack, to_csv(rows), commit=True, only_valid=True, active=True)

    async def some_done() -> bool:
        body = (
            await stack.members_http.get(f"/imports/{job['id']}", headers=stack.cadre_headers())
        ).json()
        return body["progress"]["done"] > 0

    await wait_until(some_done, 30, "the first chunk")
    await _crash(imports.runner)
    url = f"/imports/{job['id']}"
    crashed = (await stack.members_http.get(url, headers=stack.cadre_headers())).json()
    assert crashed["state"] == "running" and crashed["progress"]["done"] < 200
    replica = bootstrap(
        settings_for(MembersSettings, stack.infra, stack.prefix), configure_logs=False
    )
    replica.context.imports.runner.resume_s = 0.1
    await replica.start()
    try:
        report = await finished(stack, job["id"])
    finally:
        await replica.stop()
    assert report["written"] is True
    assert report["counts"]["create"] == 200, report["counts"]  # the crashed one's rows too
    assert await stack.members.db["members_changes"].count_documents({"version": 1}) == 200
    # The crash may leave an outbox marker of a write it never made (swept a minute later):
    # wait for the events themselves instead of an empty outbox.
    joined: Counter[str] = Counter()

    async def all_joined() -> bool:
        records = await read_all(stack.bootstrap, stack.topic("members.member"))
        events = [json.loads(r.value) for r in records]
        joined.clear()
        joined.update(e["subject"] for e in events if e["type"].endswith("joined.v2"))
        return len(joined) == 200

    await wait_until(all_joined, 30, "a joined event for each member")
    assert set(joined.values()) == {1}


async def _crash(runner) -> None:
    """As if the process died: its tasks stop where they are, its leases stay behind."""
    runner._stopping = True
    tasks = [t for t in [runner._loop, *runner._tasks.values()] if t is not None]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def test_who_may_import_and_see_an_import(stack: Stack, prefix: str):
    data = to_csv([[prefix, "王", "", "", "main", "艺术系", "", "", "", ""]])
    files = {"file": ("a.csv", data, "text/csv")}
    assert (await stack.members_http.post("/imports", files=files)).status_code == 401
    member = bearer("m-1", ["member"], ["main"])
    response = await stack.members_http.post("/imports", files=files, headers=member)
    assert response.status_code == 403
    job = await upload(stack, data)
    await finished(stack, job["id"])
    colleague = bearer("cadre-2", ["cadre"], ["main"])
    other = bearer("cadre-w", ["cadre"], ["west"])
    url = f"/imports/{job['id']}"
    assert (await stack.members_http.get(url, headers=colleague)).status_code == 200
    assert (await stack.members_http.get(url, headers=other)).status_code == 404
    admin = bearer("admin", ["admin"], ["*"])
    assert (await stack.members_http.get(url, headers=admin)).status_code == 200
    missing = await stack.members_http.get("/imports/imp-0000000000000000", headers=admin)
    assert missing.status_code == 404 and missing.json()["code"] == "import.not_found"
    audit = await stack.members.db["audit_log"].find({"target": job["id"]}).to_list()
    assert [(a["action"], a["by"]) for a in audit] == [("import.check", "cadre-1")]


async def test_the_cli_uploads_follows_and_prints_the_report_in_chinese(stack: Stack, prefix: str):
    await enrol_existing(stack, prefix)
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=stack.members.app),
        base_url="http://members",
        headers=bearer("cli-admin", ["admin"], ["*"]),
    )
    out, err = io.StringIO(), io.StringIO()
    async with client:
        code = await import_members(
            client, "名单.csv", to_csv(mixed(prefix)), out=out, err=err, poll_s=0.05
        )
    assert code == 1  # rows were refused
    text = out.getvalue()
    assert "检查完成（未写入）：共 16 行" in text
    lines = text.splitlines()
    header = next(line for line in lines if line.startswith("行"))
    assert header.split() == ["行", "工号", "姓名", "结果", "单元格", "级别", "说明"]
    row7 = next(line for line in lines if line.startswith("7 "))
    assert row7.split() == [
        "7",
        f"{prefix}2026006",
        "钱七",
        "有误",
        "G7",
        "错误",
        "手机号「1391234」应为",
        "11",
        "位数字",
    ]
    # aligned: the message column starts at the same terminal column on every line
    starts = {width(line[: line.index(m)]) for line, m in ((header, "说明"), (row7, "手机号"))}
    assert len(starts) == 1
    assert "完成" in err.getvalue()  # the progress went to stderr


async def test_two_replicas_working_one_job_share_it_and_enrol_each_member_once(
    stack: Stack, prefix: str, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(stack.members.context.imports, "chunk_rows", 10)  # back after the test
    log = stack.members.db["members_changes"]
    before = await log.count_documents({"version": 1})
    replica = bootstrap(
        settings_for(MembersSettings, stack.infra, stack.prefix), configure_logs=False
    )
    await replica.start()
    try:
        rows = [
            [f"{prefix}{i:04d}", f"双副本{i}", "", "", "main", "艺术系", "", "", "", ""]
            for i in range(150)
        ]
        job = await upload(stack, to_csv(rows), commit=True, active=True)
        replica.context.imports.runner.kick(job["id"])  # the other replica works it too
        report = await finished(stack, job["id"])
    finally:
        await replica.stop()
    assert report["written"] is True and report["counts"]["create"] == 150
    holders = {
        s["holder"]
        for s in await stack.members.db["import_steps"].find({"job": job["id"]}).to_list()
        if "holder" in s
    }
    assert len(holders) == 2  # both took chunks
    assert await log.count_documents({"version": 1}) == before + 150
