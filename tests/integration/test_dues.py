"""Dues (会费) over HTTP on the real Kafka and MongoDB wire: bills once per member and month
under concurrency, payments once per idempotency key, reversals, arrears, a GBK payment list,
and who may see and do what."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import AsyncIterator
from datetime import date, timedelta

import pytest

from services.members.dues.domain import (
    AnnounceWindow,
    Entry,
    EntryKind,
    PaymentMethod,
    recorded_on,
)
from services.members.dues.handlers import monthly_job, record_payment, reverse_payment
from services.members.dues.repair import announce_missed
from services.members.membership.domain import JoinMember
from services.members.membership.domain import join as new_member
from shared.aggregate import Actor
from shared.claims import entry_id
from shared.scheduler import Job, JobRun, MonthlyOn, Scheduler
from shared.timeutil import local_today, utcnow
from tests.integration.conftest import Stack, bearer, build_stack, close_stack
from tests.kafka_tools import read_all, wait_until

pytestmark = pytest.mark.integration

MONTH = "2026-04"
ADMIN = bearer("admin-1", ["admin"], ["*"])


def finance(campus: str = "*") -> dict[str, str]:
    return bearer(f"fin-{campus}", ["finance"], [campus])


def auditor(campus: str = "*") -> dict[str, str]:
    return bearer(f"aud-{campus}", ["auditor"], [campus])


def me(member: dict) -> dict[str, str]:
    return bearer(member["id"], ["member"], [member["campus"]])


@pytest.fixture(scope="module")
async def members(infra) -> AsyncIterator[Stack]:
    s = await build_stack(infra, ["members"])
    try:
        yield s
    finally:
        await close_stack(s)


async def enrol(
    stack: Stack,
    prefix: str,
    campus: str,
    bases: list[int | None],
    department: str = "学前教育系",
    joined_on: date = date(2020, 9, 1),
) -> list[dict]:
    """Members who joined years ago (a month is billed to those who had joined by its end)."""
    people = []
    registry = stack.members.context.members
    for i, base in enumerate(bases):
        cmd = JoinMember(
            staff_no=f"{prefix}{i:03d}",
            name="王芳",
            campus=campus,
            department=department,
            salary_base_fen=base,
        )
        member = await registry.enrol(new_member(cmd, joined_on), Actor("test"))
        people.append({"id": member.id, "campus": campus, "staff_no": member.staff_no})
    return people


async def in_view(stack: Stack, campus: str, n: int, status: str = "active") -> None:
    async def listed() -> bool:
        page = await stack.members_http.get(
            "/members", params={"campus": campus, "status": status}, headers=ADMIN
        )
        return page.json()["total"] == n

    await wait_until(listed, 30, f"{n} {status} members of {campus} in the view")


async def generate(stack: Stack, month: str = MONTH, headers=None):
    return await stack.members_http.post(
        "/dues/bills/generate", json={"month": month}, headers=headers or finance()
    )


async def pay(stack: Stack, member: dict, amount: int, key: str, headers=None, month=MONTH):
    body = {
        "member_id": member["id"],
        "month": month,
        "amount_fen": amount,
        "idempotency_key": key,
        "paid_on": "2026-04-10",
        "method": "transfer",
    }
    return await stack.members_http.post("/dues/payments", json=body, headers=headers or finance())


async def test_generations_at_once_bill_each_member_once(members: Stack):
    stack = members
    bases = [800_000, 912_345, 550_100, None, 1_000_000, 99] + [600_000 + i for i in range(10)]
    people = await enrol(stack, "DG", "east", bases)
    await stack.members_http.post(f"/members/{people[4]['id']}/retire", headers=ADMIN)
    # The retirement in the view, then the active count: 15 active alone may be the count on
    # the way up (an enrolment not in the view yet, the retirement not applied either).
    await in_view(stack, "east", 1, status="retired")
    await in_view(stack, "east", len(bases) - 1)
    runs = await asyncio.gather(*(generate(stack, headers=finance("east")) for _ in range(4)))
    assert [r.status_code for r in runs] == [200] * 4, runs[0].text
    reports = [r.json() for r in runs]
    # 13 billable: a retiree pays no dues; no base and a base too low are reported.
    assert sum(r["billed"] for r in reports) == 13
    assert all(r["billed"] + r["already"] == 13 for r in reports)
    for r in reports:
        assert {(u["staff_no"], u["reason"]) for u in r["not_billed"]} == {
            ("DG003", "no_salary_base"),
            ("DG005", "zero_dues"),
        }
    ledger = stack.members.db["dues_ledger"]
    bills = await ledger.find({"campus": "east", "month": MONTH}).to_list()
    assert len(bills) == 13 and {b["seq"] for b in bills} == {1}
    assert len({b["member_id"] for b in bills}) == 13  # each member once
    amounts = {b["staff_no"]: b["amount_fen"] for b in bills}
    assert (amounts["DG000"], amounts["DG001"], amounts["DG002"]) == (
        4000,
        4562,  # 4561.725 rounded half up
        2751,  # 2750.5 rounded half up
    )
    again = (await generate(stack, headers=finance("east"))).json()
    assert (again["billed"], again["already"]) == (0, 13)
    assert await ledger.count_documents({"campus": "east", "month": MONTH}) == 13
    # The month has not begun: nothing to bill.
    future = await generate(stack, "2099-01", finance("east"))
    assert future.status_code == 409 and future.json()["code"] == "dues.month_not_begun"


async def test_the_monthly_job_bills_once_across_replicas(members: Stack):
    stack = members
    people = await enrol(stack, "DJ", "west", [700_000, 700_001, 700_002])
    await in_view(stack, "west", 3)
    ctx = stack.members.context
    month = f"{local_today():%Y-%m}"
    schedulers = [
        Scheduler("members", stack.members.db, holder=f"replica-{i}", clock=utcnow)
        for i in range(3)
    ]
    for s in schedulers:
        # The job as the composition root declares it, under a name of its own for the test.
        s.add(
            Job("dues-bills-test", MonthlyOn(1, 0), monthly_job(ctx.members, ctx.dues, ctx.audit))
        )
    ran = await asyncio.gather(*(s.tick() for s in schedulers))
    assert sorted(len(r) for r in ran) == [0, 0, 1]
    ledger = stack.members.db["dues_ledger"]
    billed = await ledger.find({"campus": "west", "month": month, "seq": 1}).to_list()
    assert sorted(b["member_id"] for b in billed) == sorted(p["id"] for p in people)
    assert {b["by"] for b in billed} == {"system"}


async def test_payments_once_per_key_never_more_than_owed_and_reversed(members: Stack):
    stack = members
    [a, b] = await enrol(stack, "DP", "north", [800_000, 600_000])  # 40.00 and 30.00 元
    await in_view(stack, "north", 2)
    assert (await generate(stack, headers=finance("north"))).json()["billed"] == 2

    # A double-submitted form records one payment, also when the submissions race.
    tries = await asyncio.gather(*(pay(stack, a, 1500, "form-0001-abc") for _ in range(8)))
    assert sorted(r.status_code for r in tries) == [200] * 7 + [201]
    assert {r.json()["entry"]["seq"] for r in tries} == {2}
    assert sum(r.json()["replayed"] for r in tries) == 7
    bill = (
        await stack.members_http.get(f"/dues/bills/{MONTH}/{a['id']}", headers=finance())
    ).json()
    assert (bill["due_fen"], bill["paid_fen"], bill["owed_fen"], bill["status"]) == (
        4000,
        1500,
        2500,
        "partial",
    )
    # The same key for another amount is a mistake, not a payment.
    reused = await pay(stack, a, 999, "form-0001-abc")
    assert reused.status_code == 409 and reused.json()["code"] == "dues.key_reused"
    # Nobody pays more than is owed, however many forms race for it.
    rest = await asyncio.gather(*(pay(stack, a, 2500, f"form-rest-{i:04d}") for i in range(6)))
    assert sorted(r.status_code for r in rest) == [201] + [409] * 5
    assert {r.json()["code"] for r in rest if r.status_code == 409} == {"dues.overpaid"}
    paid = (
        await stack.members_http.get(f"/dues/bills/{MONTH}/{a['id']}", headers=finance())
    ).json()
    assert (paid["owed_fen"], paid["status"]) == (0, "paid")

    # A reversal puts a payment back as a new entry; the payment stays as it was.
    url = f"/dues/bills/{MONTH}/{a['id']}/entries/2/reverse"
    reversals = await asyncio.gather(
        *(
            stack.members_http.post(url, json={"reason": "重复登记"}, headers=finance())
            for _ in range(4)
        )
    )
    assert sorted(r.status_code for r in reversals) == [200, 200, 200, 201]
    after = (
        await stack.members_http.get(f"/dues/bills/{MONTH}/{a['id']}", headers=finance())
    ).json()
    assert [(e["seq"], e["kind"], e["amount_fen"], e["owed_fen"]) for e in after["entries"]] == [
        (1, "bill", 4000, 4000),
        (2, "payment", -1500, 2500),
        (3, "payment", -2500, 0),
        (4, "reversal", 1500, 1500),
    ]
    assert after["entries"][1]["reversed"] and after["entries"][3]["reverses"] == 2
    assert (after["owed_fen"], after["status"]) == (1500, "partial")
    bill_itself = await stack.members_http.post(
        f"/dues/bills/{MONTH}/{a['id']}/entries/1/reverse", json={"reason": "x"}, headers=finance()
    )
    assert bill_itself.status_code == 409 and bill_itself.json()["code"] == "dues.not_a_payment"
    missing = await stack.members_http.post(
        f"/dues/bills/{MONTH}/{a['id']}/entries/99/reverse", json={"reason": "x"}, headers=finance()
    )
    assert missing.status_code == 404
    no_bill = await pay(stack, b, 100, "form-nobill-1", month="2026-03")
    assert no_bill.status_code == 404 and no_bill.json()["code"] == "dues.bill_not_found"

    # Payments and reversals are in the audit log, once each.
    audit = await stack.members.db["audit_log"].find({"target": f"{MONTH}:{a['id']}"}).to_list()
    assert sorted(e["action"] for e in audit) == ["dues.payment", "dues.payment", "dues.reversal"]
    assert all(e["by"] == "fin-*" for e in audit)


async def test_arrears_per_campus_and_department_with_csv(infra):
    stack = await build_stack(infra, ["members"])
    try:
        art = await enrol(stack, "DA", "main", [800_000, 600_000], department="艺术系")
        music = await enrol(stack, "DM", "main", [1_000_000], department="音乐系")
        north = await enrol(stack, "DN", "north", [400_000])
        await in_view(stack, "main", 3)
        await in_view(stack, "north", 1)
        for month in ("2026-03", "2026-04"):
            assert (await generate(stack, month, ADMIN)).json()["billed"] == 4
        await pay(stack, art[0], 4000, "pay-art0-03", month="2026-03")  # March paid in full
        await pay(stack, art[0], 1000, "pay-art0-04")  # April: 30.00 still owed
        await pay(stack, music[0], 5000, "pay-mus0-03", month="2026-03")
        await pay(stack, music[0], 5000, "pay-mus0-04")  # nothing owed
        report = (await stack.members_http.get("/dues/arrears", headers=auditor())).json()
        rows = {
            d["staff_no"]: (d["owed_fen"], [m["month"] for m in d["months"]])
            for d in report["debtors"]
        }
        assert rows == {
            "DA000": (3000, ["2026-04"]),
            "DA001": (6000, ["2026-03", "2026-04"]),
            "DN000": (4000, ["2026-03", "2026-04"]),
        }
        assert [
            (s["campus"], s["department"], s["members"], s["months"], s["owed_fen"])
            for s in report["by_department"]
        ] == [
            ("main", "艺术系", 2, 3, 9000),
            ("north", "学前教育系", 1, 2, 4000),
        ]
        assert [(s["campus"], s["owed_fen"]) for s in report["by_campus"]] == [
            ("main", 9000),
            ("north", 4000),
        ]
        assert (report["members"], report["months"], report["owed_fen"]) == (3, 5, 13000)
        april = (
            await stack.members_http.get(
                "/dues/arrears",
                params={"campus": "main", "month_from": "2026-04"},
                headers=auditor(),
            )
        ).json()
        assert april["owed_fen"] == 6000 and april["months"] == 2
        one = (
            await stack.members_http.get(
                "/dues/arrears", params={"department": "音乐系"}, headers=finance()
            )
        ).json()
        assert one["debtors"] == [] and one["owed_fen"] == 0
        exported = await stack.members_http.get("/dues/arrears.csv", headers=auditor())
        lines = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
        assert lines[0][:5] == ["校区", "部门", "工号", "姓名", "月份"]
        assert [
            "main校区",
            "艺术系",
            "DA000",
            "王芳",
            "2026-04",
            "40.00",
            "10.00",
            "30.00",
        ] in lines
        assert lines[-1] == ["合计", "", "", "3 人", "5 个月", "", "", "130.00"]
        # The bill list with totals and a status filter.
        owing = (
            await stack.members_http.get(
                "/dues/bills", params={"month": MONTH, "status": "owing"}, headers=auditor()
            )
        ).json()
        assert owing["total"] == 3 and owing["owed_fen"] == 3000 + 3000 + 2000
        assert [b["staff_no"] for b in owing["items"]] == ["DA000", "DA001", "DN000"]
        assert north[0]["campus"] == "north"
        # Pages are cut by the query: together they are the whole list, in its order, and
        # every page carries the totals of the whole list.
        for params in ({"status": "owing"}, {"status": "paid"}, {"campus": "main"}, {}):
            whole = (
                await stack.members_http.get(
                    "/dues/bills", params={**params, "limit": 500}, headers=auditor()
                )
            ).json()
            pages = [
                (
                    await stack.members_http.get(
                        "/dues/bills",
                        params={**params, "limit": 2, "offset": offset},
                        headers=auditor(),
                    )
                ).json()
                for offset in range(0, whole["total"] + 2, 2)
            ]
            assert [b for page in pages for b in page["items"]] == whole["items"], params
            assert [len(page["items"]) for page in pages][-1] == 0
            assert {
                (page["total"], page["due_fen"], page["paid_fen"], page["owed_fen"])
                for page in pages
            } == {(whole["total"], whole["due_fen"], whole["paid_fen"], whole["owed_fen"])}
        paid = (
            await stack.members_http.get(
                "/dues/bills", params={"status": "paid", "limit": 2}, headers=auditor()
            )
        ).json()
        assert paid["total"] == 3 and paid["owed_fen"] == 0
        assert [(b["staff_no"], b["month"]) for b in paid["items"]] == [
            ("DA000", "2026-03"),
            ("DM000", "2026-03"),
        ]
    finally:
        await close_stack(stack)


PAYMENT_LIST = (
    "工号,姓名,月份,金额（元）,缴费日期,备注\r\n"
    "DC000,王芳,2026-04,30.00,2026-04-10,工资代扣\r\n"
    "ｄｃ００１,王芳,2026年4月,10.5,2026-04-10,\r\n"
    "DC001,王芳,2026-04,10.5,2026-04-10,同额第二笔\r\n"
    "DC002,王芳,2026-04,999.00,,\r\n"
    "DC999,无此人,2026-04,10.00,,\r\n"
    "DC000,王芳,四月,10.00,,\r\n"
    "DC000,王芳,2026-04,1.001,,\r\n"
)


async def test_a_gbk_payment_list_is_recorded_once_however_often_it_is_sent(members: Stack):
    stack = members
    people = await enrol(stack, "DC", "main", [800_000, 600_000, 400_000])
    await wait_until(lambda: _billed(stack, [p["id"] for p in people]), 30, "the three bills")
    data = PAYMENT_LIST.encode("gbk")
    headers = finance("main")
    first = (
        await stack.members_http.post("/dues/payments/import", files=upload(data), headers=headers)
    ).json()
    assert [(r["row"], r["outcome"], r["code"]) for r in first["rows"]] == [
        (2, "recorded", None),
        (3, "recorded", None),
        (4, "recorded", None),
        (5, "refused", "dues.overpaid"),  # 999 元 for a 20 元 bill
        (6, "refused", "dues.bill_not_found"),
        (7, "refused", "dues.invalid_row"),
        (8, "refused", "dues.invalid_row"),
    ]
    assert (first["recorded"], first["already"], first["refused"]) == (3, 0, 4)
    assert first["recorded_fen"] == 3000 + 1050 + 1050
    again = (
        await stack.members_http.post("/dues/payments/import", files=upload(data), headers=headers)
    ).json()
    assert (again["recorded"], again["already"]) == (0, 3)
    ledger = stack.members.db["dues_ledger"]
    payments = await ledger.find(
        {"kind": "payment", "staff_no": {"$in": ["DC000", "DC001"]}}
    ).to_list()
    assert sorted((p["staff_no"], p["amount_fen"]) for p in payments) == [
        ("DC000", -3000),
        ("DC001", -1050),
        ("DC001", -1050),
    ]
    # UTF-8 works as well; a file that is not a list says why and records nothing.
    utf8 = "\ufeff工号,月份,金额（分）\nDC002,2026-04,2000\n".encode()
    done = (
        await stack.members_http.post("/dues/payments/import", files=upload(utf8), headers=headers)
    ).json()
    assert done["recorded"] == 1
    for junk in (b"\x00\x01binary", b"{}", "姓名,金额\n王,1\n".encode("gbk")):
        broken = await stack.members_http.post(
            "/dues/payments/import", files=upload(junk), headers=headers
        )
        assert broken.status_code == 409 and broken.json()["code"] == "dues.unreadable_file"
        assert "文件无法读取" in broken.json()["title"]
    # A broken upload (not even multipart) is the documented 422, not a bare 400.
    garbled = await stack.members_http.post(
        "/dues/payments/import",
        content=b"--b\r\n\xc2\x8a--b--\r\n",
        headers={**headers, "Content-Type": "multipart/form-data; boundary=b"},
    )
    assert garbled.status_code == 422 and garbled.json()["code"] == "request.invalid"


def upload(data: bytes) -> dict:
    return {"file": ("缴费明细.csv", data, "text/csv")}


async def _billed(stack: Stack, ids: list[str]) -> bool:
    await generate(stack, headers=finance("main"))
    ledger = stack.members.db["dues_ledger"]
    return await ledger.count_documents({"member_id": {"$in": ids}, "month": MONTH}) == len(ids)


async def test_who_may_see_and_do_what(members: Stack):
    stack = members
    [a, b] = await enrol(stack, "DZ", "main", [800_000, 800_000])
    await wait_until(lambda: _billed(stack, [a["id"], b["id"]]), 30, "bills")
    http = stack.members_http
    # A member reads their own bills and payments, and nobody else's.
    mine = await http.get(f"/dues/members/{a['id']}", headers=me(a))
    assert mine.status_code == 200 and [x["month"] for x in mine.json()] == [MONTH]
    assert mine.json()[0]["entries"][0]["kind"] == "bill"
    assert (await http.get(f"/dues/bills/{MONTH}/{a['id']}", headers=me(a))).status_code == 200
    for path in (
        f"/dues/members/{b['id']}",
        f"/dues/bills/{MONTH}/{b['id']}",
        "/dues/bills",
        "/dues/arrears",
        "/dues/arrears.csv",
    ):
        assert (await http.get(path, headers=me(a))).status_code == 403, path
    assert (await pay(stack, a, 100, "self-pay-0001", headers=me(a))).status_code == 403

    # The auditor reads everything about dues and changes nothing.
    for path in (
        f"/dues/members/{a['id']}",
        f"/dues/bills/{MONTH}/{a['id']}",
        "/dues/bills",
        "/dues/arrears",
        "/dues/arrears.csv",
    ):
        assert (await http.get(path, headers=auditor("main"))).status_code == 200, path
    ledger = stack.members.db["dues_ledger"]
    before = await ledger.count_documents({})
    refused = [
        await generate(stack, headers=auditor()),
        await pay(stack, a, 100, "auditor-pay-01", headers=auditor()),
        await http.post(
            f"/dues/bills/{MONTH}/{a['id']}/entries/1/reverse",
            json={"reason": "x"},
            headers=auditor(),
        ),
        await http.post("/dues/payments/import", files=upload(b"x"), headers=auditor()),
    ]
    assert [r.status_code for r in refused] == [403] * 4
    assert await ledger.count_documents({}) == before

    # Finance of another campus sees nothing of this one, and changes nothing of it.
    north = finance("north")
    assert (await http.get(f"/dues/bills/{MONTH}/{a['id']}", headers=north)).status_code == 404
    assert (await http.get(f"/dues/members/{a['id']}", headers=north)).status_code == 404
    assert (
        await http.get("/dues/arrears", params={"campus": "main"}, headers=north)
    ).status_code == 403
    listed = (await http.get("/dues/bills", headers=north)).json()
    assert all(x["campus"] == "north" for x in listed["items"])
    assert (await pay(stack, a, 100, "north-pay-001", headers=north)).status_code == 404
    assert await ledger.count_documents({}) == before
    # A cadre is not finance.
    cadre = bearer("c", ["cadre"], ["main"])
    assert (await http.get("/dues/bills", headers=cadre)).status_code == 403


async def test_the_configured_rate_and_rounding_make_the_bills(infra):
    over = {"members": {"dues_rate_bp": 75, "dues_rounding": "down"}}
    stack = await build_stack(infra, ["members"], settings=over)
    try:
        await enrol(stack, "DR", "main", [333_333])  # 0.75% = 2499.99975 fen
        await in_view(stack, "main", 1)
        done = (await generate(stack, headers=ADMIN)).json()
        assert (done["rate_bp"], done["rounding"], done["billed_fen"]) == (75, "down", 2499)
    finally:
        await close_stack(stack)


async def test_nobody_records_a_payment_on_their_own_bill_or_sets_their_own_salary_base(
    members: Stack,
):
    """Separation of duties: the 经费管理 who is also a member pays through a colleague."""
    stack = members
    [own, other] = await enrol(stack, "DS", "main", [800_000, 600_000])
    await wait_until(lambda: _billed(stack, [own["id"], other["id"]]), 30, "bills")
    http = stack.members_http
    treasurer = bearer(own["id"], ["finance", "cadre", "member"], ["main"])
    ledger = stack.members.db["dues_ledger"]
    before = await ledger.count_documents({"member_id": own["id"]})
    mine = await pay(stack, own, 100, "own-pay-0001", headers=treasurer)
    assert mine.status_code == 403 and mine.json()["code"] == "dues.own_bill", mine.text
    assert (await pay(stack, other, 100, "colleague-0001", headers=treasurer)).status_code == 201
    paid = await pay(stack, own, 100, "by-colleague-1", headers=finance("main"))
    assert paid.status_code == 201, paid.text
    reverse = await http.post(
        f"/dues/bills/{MONTH}/{own['id']}/entries/{paid.json()['entry']['seq']}/reverse",
        json={"reason": "自己冲正"},
        headers=treasurer,
    )
    assert reverse.status_code == 403 and reverse.json()["code"] == "dues.own_bill"
    data = f"工号,月份,金额（元）\r\n{own['staff_no']},{MONTH},1.00\r\n".encode()
    listed = await http.post("/dues/payments/import", files=upload(data), headers=treasurer)
    assert [(r["outcome"], r["code"]) for r in listed.json()["rows"]] == [
        ("refused", "dues.own_bill")
    ]
    assert await ledger.count_documents({"member_id": own["id"]}) == before + 1  # the colleague's

    salary = await http.patch(
        f"/members/{own['id']}", json={"salary_base_fen": 1_200_000}, headers=treasurer
    )
    assert salary.status_code == 403 and salary.json()["code"] == "member.own_salary_base"
    other_salary = await http.patch(
        f"/members/{other['id']}", json={"salary_base_fen": 650_000}, headers=treasurer
    )
    assert other_salary.status_code == 200, other_salary.text
    # Their own position they may still correct; the salary base stays as it was.
    position = await http.patch(
        f"/members/{own['id']}", json={"position": "会计"}, headers=treasurer
    )
    assert position.status_code == 200, position.text
    assert position.json()["salary_base_fen"] == 800_000


async def test_payments_and_reversals_a_crash_left_unannounced_are_announced_once(
    members: Stack,
):
    """Issue 14: the entry recorded, the process gone before its announcement (the event
    welfare books as income). The job announces it, once however often and wherever it runs."""
    stack = members
    ctx = stack.members.context
    ledger, audit = ctx.dues, ctx.audit
    fin = Actor("fin-main", "test")
    bills: list[Entry] = []
    for i in range(4):
        cmd = JoinMember(
            staff_no=f"DK{i:03d}",
            name="王芳",
            campus="main",
            department="学前教育系",
            salary_base_fen=800_000,
        )
        member = await ctx.members.enrol(new_member(cmd, date(2020, 9, 1)), Actor("test"))
        assert await ledger.open_bill(member, MONTH, 4000, fin)
        bills.append(await ledger.bill(MONTH, member.id))
    a, b, c, d = bills

    async def crashed(bill: Entry, kind: EntryKind, amount: int, key: str, **fields) -> Entry:
        """Recorded as `record_payment` / `reverse_payment` record it, never announced."""
        entry, replayed = await ledger.append(bill, kind, amount, key, fin, **fields)
        assert entry is not None and not replayed
        return entry

    def reversal_key(bill: Entry, seq: int) -> str:
        return f"reverse:{MONTH}:{bill.member_id}#{seq}"

    paid = {"paid_on": "2026-04-10", "method": "transfer"}
    # a: a payment and its reversal, neither announced.
    await crashed(a, EntryKind.payment, -1500, "crash-a-pay", **paid)
    await crashed(a, EntryKind.reversal, 1500, reversal_key(a, 2), reverses=2, note="重复登记")
    # b: a payment announced, its reversal not.
    await record_payment(
        ledger,
        audit,
        fin,
        b,
        1000,
        "crash-b-pay",
        paid_on=None,
        method=PaymentMethod.cash,
        note=None,
    )
    await crashed(b, EntryKind.reversal, 1000, reversal_key(b, 2), reverses=2, note="重复登记")
    # c: a payment lost eight days ago, before the window: left alone.
    old = await crashed(c, EntryKind.payment, -500, "crash-c-pay", **paid)
    old_id = entry_id(f"{MONTH}:{c.member_id}", old.seq)
    long_ago = utcnow() - timedelta(days=8)
    back_dated = {"at": long_ago, "recorded_on": recorded_on(long_ago)}
    await ledger.coll.update_one({"_id": old_id}, {"$set": back_dated})  # the test's own doing
    # d: a payment lost, then reversed by a request: the request announces the payment first
    # (welfare cannot put back income it never booked).
    await crashed(d, EntryKind.payment, -2000, "crash-d-pay", **paid)
    await reverse_payment(ledger, audit, fin, d, 2, "误登记")

    # Entries of the last few minutes are left to their requests.
    assert await announce_missed(ledger, AnnounceWindow.back_from(utcnow(), 7)) == []
    # The job as the composition root schedules it, run on two replicas at once, later.
    [job] = [j for j in stack.members.scheduler.jobs if j.name == "dues-announcements"]
    later = utcnow() + timedelta(minutes=6)
    await asyncio.gather(*(job.run(JobRun(job.name, "t", n, later)) for n in (1, 2)))
    await job.run(JobRun(job.name, "t", 3, later))  # and once more
    late = await stack.members.db["audit_log"].find({"action": "dues.announced_late"}).to_list()
    mine = {bill.member_id: bill for bill in bills}
    assert sorted(
        (e["target"], e["detail"]["seq"], e["detail"]["kind"])
        for e in late
        if e["target"].split(":")[-1] in mine
    ) == sorted(
        [
            (f"{MONTH}:{a.member_id}", 2, "payment"),
            (f"{MONTH}:{a.member_id}", 3, "reversal"),
            (f"{MONTH}:{b.member_id}", 3, "reversal"),
        ]
    )
    assert {e["by"] for e in late} == {"system"}

    # On Kafka: each payment and reversal once, the payment first; the old one not at all.
    async def published() -> bool:
        return not await stack.members.relay.backlog()

    await wait_until(published, 30, "the announcements on Kafka")
    events: dict[str, list[tuple[str, str, int]]] = {bill.member_id: [] for bill in bills}
    for record in await read_all(stack.bootstrap, stack.topic("members.dues"), 2000):
        event = json.loads(record.value)
        if event["data"]["member_id"] in events:
            data = event["data"]
            events[data["member_id"]].append(
                (event["type"], data["payment_id"].split("#")[-1], data["amount_fen"])
            )
    paid_v1, reversed_v1 = "members.dues.paid.v1", "members.dues.payment_reversed.v1"
    first = "000000002"  # each payment is its bill's second entry
    assert events == {
        a.member_id: [(paid_v1, first, 1500), (reversed_v1, first, 1500)],
        b.member_id: [(paid_v1, first, 1000), (reversed_v1, first, 1000)],
        c.member_id: [],
        d.member_id: [(paid_v1, first, 2000), (reversed_v1, first, 2000)],
    }
    assert await ledger.announced.find_one({"_id": old_id}) is None
