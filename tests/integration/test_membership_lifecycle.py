"""The membership lifecycle over HTTP on the real servers: every step, races, edits, exports."""

from __future__ import annotations

import asyncio
import csv
import io
import json

import pytest
from openpyxl import load_workbook

from tests.integration.conftest import Stack, bearer, join
from tests.kafka_tools import read_all, wait_until

pytestmark = pytest.mark.integration

ADMIN = bearer("admin-1", ["admin"], ["*"])


async def post(stack: Stack, path: str, body: dict | None = None, headers=None):
    return await stack.members_http.post(path, json=body, headers=headers or stack.cadre_headers())


async def test_an_application_is_approved_once_however_many_cadres_click(module_stack: Stack):
    stack = module_stack
    applicant = await join(stack, "L0001", as_applicant=True)
    assert applicant["status"] == "applied" and applicant["joined_on"] is None
    results = await asyncio.gather(
        *(post(stack, f"/members/{applicant['id']}/approve") for _ in range(10))
    )
    assert sorted(r.status_code for r in results) == [200] + [409] * 9
    records = await read_all(stack.bootstrap, stack.topic("members.member"), 1500)
    joined = [
        json.loads(r.value)
        for r in records
        if r.key.decode() == applicant["id"]
        and json.loads(r.value)["type"] == "members.member.joined.v2"
    ]
    assert len(joined) == 1 and joined[0]["data"]["status"] == "active"


async def test_every_step_of_the_lifecycle_over_http(module_stack: Stack):
    stack = module_stack
    m = await join(stack, "L0002", phone="13800000002")
    url = f"/members/{m['id']}"
    refused = await post(stack, f"{url}/approve")  # already active
    assert refused.status_code == 409 and refused.json()["current"] == "active"
    moved = await post(stack, f"{url}/transfer", {"to_campus": "north"}, ADMIN)
    assert moved.status_code == 200 and moved.json()["campus"] == "north"
    unknown = await post(stack, f"{url}/transfer", {"to_campus": "nowhere"}, ADMIN)
    assert unknown.status_code == 404 and unknown.json()["code"] == "org.unknown_campus"
    # The main-campus cadre no longer sees them; the north cadre does.
    assert (await stack.members_http.get(url, headers=stack.cadre_headers())).status_code == 404
    north = bearer("cadre-n", ["cadre"], ["north"])
    retired = await post(stack, f"{url}/retire", {"on": "2026-12-31"}, north)
    assert retired.json()["status"] == "retired" and retired.json()["left_on"] == "2026-12-31"
    assert (await post(stack, f"{url}/withdraw", None, north)).status_code == 409
    died = await post(stack, f"{url}/decease", None, north)
    assert died.json()["status"] == "deceased"
    edit = await stack.members_http.patch(url, json={"position": "退休教师"}, headers=north)
    assert edit.status_code == 409  # a deceased member's record is closed

    a = await join(stack, "L0003", as_applicant=True)
    no_reason = await post(stack, f"/members/{a['id']}/reject", {"reason": "   "})
    assert no_reason.status_code == 422  # the schema states it: a visible reason
    rejected = await post(stack, f"/members/{a['id']}/reject", {"reason": "未满试用期"})
    assert rejected.json()["status"] == "rejected"
    assert rejected.json()["reject_reason"] == "未满试用期"
    again = await post(stack, f"/members/{a['id']}/reapply")
    assert again.json()["status"] == "applied" and again.json()["reject_reason"] is None


async def test_concurrent_edits_of_different_fields_lose_no_change(module_stack: Stack):
    stack = module_stack
    m = await join(stack, "L0004")
    url = f"/members/{m['id']}"
    edits = [
        {"position": "教研组长"},
        {"small_group": "g-art"},
        {"gender": "female"},
        {"birth_date": "1988-05-04"},
        {"hire_date": "2012-09-01"},
        {"employment_type": "合同"},
    ]
    results = await asyncio.gather(
        *(stack.members_http.patch(url, json=e, headers=stack.cadre_headers()) for e in edits)
    )
    assert all(r.status_code == 200 for r in results), [r.text for r in results]
    after = (await stack.members_http.get(url, headers=stack.cadre_headers())).json()
    for edit in edits:
        for key, value in edit.items():
            assert after[key] == value, key
    assert after["version"] == 1 + len(edits)  # each edit is its own recorded change


async def test_a_member_edits_their_own_contact_and_no_one_elses(module_stack: Stack):
    stack = module_stack
    m = await join(stack, "L0005", phone="13800000005")
    mine = stack.member_headers(m["id"])
    ok = await stack.members_http.patch(
        f"/members/{m['id']}/contact", json={"email": "ｌ5＠school.local"}, headers=mine
    )
    assert ok.status_code == 200, ok.text
    # Folded, and pending until the member opens the link mailed to it (test_takeover).
    assert ok.json()["pending_email"] == "l5@school.local" and ok.json()["email"] is None
    other = await stack.members_http.patch(
        f"/members/{m['id']}/contact", json={"email": "x@y.cn"}, headers=stack.member_headers("m-x")
    )
    assert other.status_code == 403
    refused = await stack.members_http.patch(
        f"/members/{m['id']}", json={"position": "主任"}, headers=mine
    )
    assert refused.status_code == 403  # details are a cadre's to correct


async def test_secrets_are_sealed_at_rest_masked_in_answers_and_revealed_with_an_audit(
    module_stack: Stack,
):
    stack = module_stack
    m = await join(stack, "L0006", id_number="11010519491231002X", salary_base_fen=812_300)
    stored = await stack.members.db["members_changes"].find_one({"aggregate": m["id"]})
    assert stored["state"]["id_number"].startswith("gh2:")  # sealed, not the number
    assert "11010519491231002X" not in json.dumps(stored, default=str)
    assert m["id_number"] == "1101**********002X" and m["salary_base_fen"] is None
    finance = bearer("fin-1", ["finance"], ["main"])
    seen = (await stack.members_http.get(f"/members/{m['id']}", headers=finance)).json()
    assert seen["salary_base_fen"] == 812_300 and seen["id_number"] == "1101**********002X"
    reveal = {"field": "id_number", "purpose": "办理大病互助"}
    assert (await post(stack, f"/members/{m['id']}/reveal", reveal)).status_code == 403
    shown = await post(stack, f"/members/{m['id']}/reveal", reveal, ADMIN)
    assert shown.json() == {"field": "id_number", "value": "11010519491231002X"}
    [entry] = await stack.members.db["audit_log"].find({"target": m["id"]}).to_list()
    assert (entry["action"], entry["by"], entry["detail"]["purpose"]) == (
        "reveal",
        "admin-1",
        "办理大病互助",
    )


async def test_exports_are_masked_as_the_caller_may_see_and_audited(module_stack: Stack):
    stack = module_stack
    m = await join(
        stack, "L0007", name="导出测试", phone="13800000007", id_number="11010519491231002X"
    )

    async def listed() -> bool:
        page = await stack.members_http.get("/members?q=导出", headers=stack.cadre_headers())
        return page.json()["total"] == 1

    await wait_until(listed, 15, "the list view")
    as_cadre = await stack.members_http.get(
        "/exports/members.csv?q=导出", headers=stack.cadre_headers()
    )
    assert as_cadre.status_code == 200 and as_cadre.content.startswith("\ufeff".encode())
    [header, row] = list(csv.reader(io.StringIO(as_cadre.content.decode("utf-8-sig"))))
    record = dict(zip(header, row, strict=True))
    assert record["工号"] == "L0007" and record["会籍状态"] == "在会"
    assert record["手机"] == "138****0007" and record["身份证号"] == "1101**********002X"
    as_admin = await stack.members_http.get("/exports/members.xlsx?q=导出", headers=ADMIN)
    sheet = load_workbook(io.BytesIO(as_admin.content)).active
    assert sheet is not None
    values = [[c.value for c in r] for r in sheet.iter_rows()]
    admin_record = dict(zip(values[0], values[1], strict=True))
    assert admin_record["手机"] == "13800000007"  # an admin sees contacts …
    assert admin_record["身份证号"] == "1101**********002X"  # … but ID numbers only by reveal
    exports = await stack.members.db["audit_log"].find({"action": "export"}).to_list()
    assert {e["by"] for e in exports} >= {"cadre-1", "admin-1"}
    assert m["id"]


async def test_search_filters_and_totals(module_stack: Stack):
    stack = module_stack
    for i, (gender, birth, dept) in enumerate(
        [
            ("female", "1990-01-01", "艺术系"),
            ("male", "1970-06-01", "艺术系"),
            ("female", "2000-03-03", "音乐系"),
        ]
    ):
        await join(
            stack, f"F{i:04d}", name=f"筛选{i}", gender=gender, birth_date=birth, department=dept
        )

    async def query(params: str) -> dict:
        response = await stack.members_http.get(
            f"/members?q=筛选&{params}", headers=stack.cadre_headers()
        )
        assert response.status_code == 200, response.text
        return response.json()

    await wait_until(lambda: _total_is(query, "", 3), 15, "the list view")
    assert (await query("gender=female"))["total"] == 2
    assert (await query("department=艺术系&gender=male"))["total"] == 1
    assert [m["name"] for m in (await query("age_min=30&age_max=40"))["items"]] == ["筛选0"]
    assert (await query("limit=2&offset=2"))["items"][0]["staff_no"] == "F0002"
    staff = await stack.members_http.get("/members?q=f00", headers=stack.cadre_headers())
    assert staff.json()["total"] == 3  # the start of a staff number, any case


async def _total_is(query, params: str, n: int) -> bool:
    return (await query(params))["total"] == n
