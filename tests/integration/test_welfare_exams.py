"""The annual physical exam (体检) on the real Kafka and MongoDB wire: 100 concurrent bookings
for 10 places book exactly 10; concurrent cancels and rebookings never pass a slot's capacity;
eligibility by status, gender and age; completion by hand and from a provider's GBK list,
posted to the ledger once per exam when the union pays; statistics and the not-booked list;
every event valid against the catalog and free of personal data."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator, FormatChecker

from services.welfare.exams.store import SEATS
from shared.readmodels.member_directory import MEMBER_DIRECTORY
from tests.integration.conftest import Stack, bearer, build_stack, close_stack
from tests.kafka_tools import read_all

pytestmark = pytest.mark.integration

YEAR = 2027  # slots must lie ahead: next year's plan
CHAIR = bearer("chair-x", ["admin"], ["*"])
SCHEMAS = Path(__file__).resolve().parents[2] / "docs" / "events" / "schemas"
LINE = "spend_rights_other"


def conforms(event: dict[str, Any]) -> dict[str, Any]:
    schema = json.loads((SCHEMAS / f"{event['type']}.json").read_text(encoding="utf-8"))
    Draft202012Validator(schema, format_checker=FormatChecker()).validate(event["data"])
    return event


@pytest.fixture(scope="module")
async def welfare(infra) -> AsyncIterator[Stack]:
    s = await build_stack(infra, ["welfare"])
    try:
        yield s
    finally:
        await close_stack(s)


def campus() -> str:
    return f"x{uuid.uuid4().hex[:8]}"


def cadre(c: str) -> dict[str, str]:
    return bearer(f"cadre-{c}", ["cadre"], [c])


def member(member_id: str, c: str) -> dict[str, str]:
    return bearer(member_id, ["member"], [c])


def auditor(c: str) -> dict[str, str]:
    return bearer(f"aud-{c}", ["auditor", "member"], [c])


async def people(stack: Stack, c: str, count: int, **over: Any) -> list[str]:
    """Members written into welfare's directory as `members.member` events leave them."""
    tag = uuid.uuid4().hex[:6]
    ids = [f"m-{tag}-{i:04d}" for i in range(count)]
    docs = [
        {
            "_id": member_id,
            "staff_no": f"S{tag.upper()}{i:04d}",
            "name": f"老师{i}",
            "campus": c,
            "department": "艺术系" if i % 2 else "音乐系",
            "gender": "female",
            "birth_year": 1980,
            "status": "active",
            "roles": [],
            "sequence": "0000000001.000",
            **over,
        }
        for i, member_id in enumerate(ids)
    ]
    await stack.welfare.db[MEMBER_DIRECTORY].insert_many(docs)
    return ids


def settings(capacity: int = 10, union_pays: bool = False, **over: Any) -> dict[str, Any]:
    return {
        "title": f"{YEAR}年度教职工体检",
        "union_pays": union_pays,
        "line": LINE,
        "retirees": False,
        "providers": [{"code": "rmyy", "name": "市人民医院体检中心"}],
        "packages": [
            {"code": "basic", "name": "基础套餐", "price_fen": 45_000},
            {"code": "female", "name": "女职工套餐", "price_fen": 60_000, "gender": "female"},
            {"code": "over50", "name": "50岁以上套餐", "price_fen": 80_000, "min_age": 50},
        ],
        "slots": [
            {"code": "a", "provider": "rmyy", "day": f"{YEAR}-03-10", "capacity": capacity},
            {"code": "b", "provider": "rmyy", "day": f"{YEAR}-03-11", "capacity": capacity},
        ],
        **over,
    }


async def plan(stack: Stack, c: str, **over: Any) -> dict[str, Any]:
    response = await stack.welfare_http.put(
        f"/exams/plans/{c}/{YEAR}", json=settings(**over), headers=cadre(c)
    )
    assert response.status_code == 200, response.text
    return response.json()


async def book(stack: Stack, c: str, m: str, slot: str = "a", package: str = "basic") -> Any:
    return await stack.welfare_http.post(
        f"/exams/plans/{c}/{YEAR}/bookings",
        json={"slot": slot, "package": package},
        headers=member(m, c),
    )


async def seats(stack: Stack, c: str, slot: str) -> int:
    return await stack.welfare.db[SEATS].count_documents({"plan": f"{c}:{YEAR}", "slot": slot})


async def test_hundred_concurrent_bookings_for_ten_places_book_exactly_ten(welfare: Stack):
    stack, c = welfare, campus()
    await plan(stack, c)
    ids = await people(stack, c, 100)
    answers = await asyncio.gather(*(book(stack, c, m) for m in ids))
    codes = sorted(r.status_code for r in answers)
    assert codes.count(200) == 10 and codes.count(409) == 90, codes
    assert {r.json()["code"] for r in answers if r.status_code == 409} == {"exam.slot_full"}
    assert await seats(stack, c, "a") == 10
    shown = (await stack.welfare_http.get(f"/exams/plans/{c}/{YEAR}", headers=cadre(c))).json()
    assert [(s["code"], s["taken"], s["free"]) for s in shown["slots"]] == [
        ("a", 10, 0),
        ("b", 0, 10),
    ]


async def test_concurrent_cancels_and_rebookings_never_pass_capacity(welfare: Stack):
    stack, c = welfare, campus()
    await plan(stack, c, capacity=5)
    ids = await people(stack, c, 20)
    first = await asyncio.gather(*(book(stack, c, m, "a") for m in ids[:5]))
    assert all(r.status_code == 200 for r in first)
    inside, outside = ids[:5], ids[5:]

    async def cancel(m: str) -> Any:
        return await stack.welfare_http.post(
            f"/exams/plans/{c}/{YEAR}/bookings/{m}/cancel", headers=member(m, c)
        )

    # Those inside cancel, move to b and back again, while fifteen others try to get in.
    async def churn(m: str) -> None:
        assert (await cancel(m)).status_code == 200
        await book(stack, c, m, "a")
        await book(stack, c, m, "b")
        await book(stack, c, m, "a")

    async def push(m: str) -> None:
        for _ in range(3):
            await book(stack, c, m, "a")
            await asyncio.sleep(0.01)

    await asyncio.gather(*(churn(m) for m in inside), *(push(m) for m in outside))
    assert await seats(stack, c, "a") <= 5
    assert await seats(stack, c, "b") <= 5
    # Every seat belongs to a live booking of that slot, and every live booking has its seat.
    live: dict[str, str] = {}
    for m in ids:
        got = await stack.welfare_http.get(
            f"/exams/plans/{c}/{YEAR}/bookings/{m}", headers=member(m, c)
        )
        if got.status_code == 200 and got.json()["status"] == "booked":
            live[m] = got.json()["slot"]
    held = {
        d["booking"].rsplit(":", 1)[1]: d["slot"]
        async for d in stack.welfare.db[SEATS].find({"plan": f"{c}:{YEAR}"})
    }
    assert held == live
    assert sum(1 for s in live.values() if s == "a") <= 5


async def test_eligibility_status_gender_age_and_campus(welfare: Stack):
    stack, c = welfare, campus()
    await plan(stack, c)
    [woman] = await people(stack, c, 1)
    [man] = await people(stack, c, 1, gender="male", birth_year=1970)
    [retiree] = await people(stack, c, 1, status="retired")
    refused = await book(stack, c, man, package="female")
    assert refused.status_code == 422 and refused.json()["code"] == "exam.package_not_eligible"
    assert "仅限女职工" in refused.json()["title"]
    young = await book(stack, c, woman, package="over50")
    assert young.status_code == 422 and young.json()["code"] == "exam.package_not_eligible"
    assert (await book(stack, c, man, package="over50")).status_code == 200
    gone = await book(stack, c, retiree)
    assert gone.status_code == 422 and gone.json()["code"] == "exam.retirees_excluded"
    mine = await stack.welfare_http.get(f"/exams/plans/{c}/{YEAR}/mine", headers=member(woman, c))
    assert [p["code"] for p in mine.json()["packages"]] == ["basic", "female"]
    # Someone else's booking: another member may not, a cadre of another campus may not.
    other = await stack.welfare_http.post(
        f"/exams/plans/{c}/{YEAR}/bookings",
        json={"slot": "a", "package": "basic", "member_id": woman},
        headers=member(man, c),
    )
    assert other.status_code == 403
    foreign = await stack.welfare_http.post(
        f"/exams/plans/{c}/{YEAR}/bookings",
        json={"slot": "a", "package": "basic", "member_id": woman},
        headers=cadre("elsewhere"),
    )
    assert foreign.status_code == 403 and foreign.json()["code"] == "auth.campus_forbidden"
    # Retirees when the plan says so.
    await plan(stack, c, retirees=True)
    assert (await book(stack, c, retiree)).status_code == 200


async def test_completion_by_hand_and_from_a_gbk_list_posts_the_ledger_once(welfare: Stack):
    stack, c = welfare, campus()
    adopted = await stack.welfare_http.post(
        f"/funds/budgets/{c}/{YEAR}",
        json={"lines": {LINE: 1_000_000}, "note": "体检"},
        headers=CHAIR,
    )
    assert adopted.status_code == 201, adopted.text
    await plan(stack, c, union_pays=True)
    ids = await people(stack, c, 4)
    for m in ids[:3]:
        assert (await book(stack, c, m)).status_code == 200
    base = f"/exams/plans/{c}/{YEAR}"
    done = [
        await stack.welfare_http.post(
            f"{base}/bookings/{ids[0]}/completion",
            json={"completed_on": f"{YEAR}-03-10"},
            headers=cadre(c),
        )
        for _ in range(2)
    ]
    assert [d.status_code for d in done] == [200, 200]
    assert done[1].json()["status"] == "completed" and done[1].json()["union_paid"] is True
    not_booked = await stack.welfare_http.post(
        f"{base}/bookings/{ids[3]}/completion", json={}, headers=cadre(c)
    )
    assert not_booked.status_code == 409 and not_booked.json()["code"] == "exam.not_booked"

    directory = stack.welfare.db[MEMBER_DIRECTORY]
    staff = [(await directory.find_one({"_id": m}))["staff_no"] for m in ids]
    wide = str.maketrans("0123456789", "０１２３４５６７８９")
    text = (
        "工号,体检日期\r\n"
        f"{staff[1].translate(wide)},２０２７年３月１０日\r\n"  # full-width, as typed
        f"{staff[2]},2027/3/11\r\n"
        f"{staff[0]},2027-03-10\r\n"  # recorded by hand already
        f"{staff[3]},2027-03-11\r\n"  # never booked
        "S-NOBODY,2027-03-11\r\n"
        f"{staff[2]},2027-02-30\r\n"
    )
    sent = [
        await stack.welfare_http.post(
            f"{base}/completions",
            files={"file": ("名单.csv", text.encode("gbk"), "text/csv")},
            headers=cadre(c),
        )
        for _ in range(2)
    ]
    first, second = (s.json() for s in sent)
    assert sent[0].status_code == 200, sent[0].text
    assert (first["completed"], first["already"], first["refused"]) == (2, 1, 3)
    assert [r["row"] for r in first["rows"] if r["outcome"] == "refused"] == [5, 6, 7]
    assert (
        "2027-02-30" in first["rows"][-1]["message"] or "体检日期" in first["rows"][-1]["message"]
    )
    assert (second["completed"], second["already"]) == (0, 3)
    # Three exams done, three payments of 450 yuan: once each, however often sent.
    entries = await stack.welfare_http.get(
        f"/funds/ledgers/{c}/{YEAR}/entries?kind=payment", headers=bearer("f", ["finance"], [c])
    )
    paid = [e for e in entries.json()["entries"] if e["cause_ref"].startswith("welfare.exam:")]
    assert sorted(e["amount_fen"] for e in paid) == [45_000] * 3
    # The auditor traces each payment to its booking (`welfare.exam:<booking>`), and changes
    # nothing; where the member pays, no exam of theirs is the auditor's to read.
    audit = auditor(c)
    for entry in paid:
        booking_id = entry["cause_ref"].removeprefix("welfare.exam:")
        member_id = booking_id.removeprefix(f"{c}:{YEAR}:")
        read = await stack.welfare_http.get(f"{base}/bookings/{member_id}", headers=audit)
        assert read.status_code == 200, read.text
        assert (read.json()["id"], read.json()["union_paid"]) == (booking_id, True)
    for path, body in (
        (f"{base}/bookings/{ids[1]}/completion", {}),
        (f"{base}/bookings/{ids[1]}/cancel", None),
        (f"{base}/bookings", {"slot": "b", "package": "basic", "member_id": ids[3]}),
    ):
        refused = await stack.welfare_http.post(path, json=body, headers=audit)
        assert refused.status_code == 403, (path, refused.text)
    assert (await stack.welfare_http.get(f"{base}/statistics", headers=audit)).status_code == 403
    own_cost = campus()
    await plan(stack, own_cost)
    [payer] = await people(stack, own_cost, 1)
    assert (await book(stack, own_cost, payer)).status_code == 200
    closed = await stack.welfare_http.get(
        f"/exams/plans/{own_cost}/{YEAR}/bookings/{payer}", headers=auditor(own_cost)
    )
    assert closed.status_code == 403

    stats = await stack.welfare_http.get(f"{base}/statistics", headers=cadre(c))
    body = stats.json()
    assert body["total"] == {"eligible": 4, "booked": 0, "completed": 3, "not_booked": 1}
    assert [p["member_id"] for p in body["not_booked"]] == [ids[3]]
    assert sum(t["eligible"] for t in body["by_department"].values()) == 4
    member_reads = await stack.welfare_http.get(f"{base}/statistics", headers=member(ids[0], c))
    assert member_reads.status_code == 403

    events = [
        conforms(json.loads(r.value))
        for r in await read_all(stack.bootstrap, stack.topic("welfare.exam"), 2000)
        if json.loads(r.value)["data"].get("campus") == c
    ]
    kinds = sorted(e["type"] for e in events)
    assert kinds.count("welfare.exam.completed.v1") == 3
    assert kinds.count("welfare.exam.booked.v1") == 3
    for e in events:  # member ids only: no names, staff numbers or genders
        assert not {"name", "staff_no", "gender", "birth_year"} & set(e["data"])


async def test_completion_refused_without_budget_changes_nothing(welfare: Stack):
    stack, c = welfare, campus()
    await plan(stack, c, union_pays=True)
    [m] = await people(stack, c, 1)
    assert (await book(stack, c, m)).status_code == 200
    url = f"/exams/plans/{c}/{YEAR}/bookings/{m}"
    refused = await stack.welfare_http.post(
        f"{url}/completion", json={"completed_on": f"{YEAR}-03-10"}, headers=cadre(c)
    )
    assert refused.status_code == 409 and refused.json()["code"] == "funds.no_budget"
    assert (await stack.welfare_http.get(url, headers=cadre(c))).json()["status"] == "booked"


async def test_a_booked_slot_cannot_be_removed_from_the_plan(welfare: Stack):
    stack, c = welfare, campus()
    await plan(stack, c)
    [m] = await people(stack, c, 1)
    assert (await book(stack, c, m, "b")).status_code == 200
    only_a = settings()
    only_a["slots"] = only_a["slots"][:1]
    response = await stack.welfare_http.put(
        f"/exams/plans/{c}/{YEAR}", json=only_a, headers=cadre(c)
    )
    if response.status_code == 200:  # the list view had not seen the booking yet
        pytest.fail("a booked slot was removed")
    assert response.status_code == 409 and response.json()["code"] == "exam.slot_in_use"


async def test_a_reminder_to_those_not_booked_goes_out_once_a_day(welfare: Stack):
    """提醒未预约者: five presses at once and one after publish one event naming exactly who
    may book and has not (not the booked, not the completed, not a retiree the plan leaves
    out); each press answers the day's reminder. A cadre of the campus only; refused when
    everybody has booked or every slot is past. The desk's list of bookings to complete
    comes with the statistics."""
    stack, c = welfare, campus()
    await plan(stack, c)
    ids = await people(stack, c, 5)
    await people(stack, c, 1, status="retired")
    booked, done, waiting = ids[0], ids[1], ids[2:]
    for m in (booked, done):
        assert (await book(stack, c, m, "b")).status_code == 200
    base = f"/exams/plans/{c}/{YEAR}"
    completed = await stack.welfare_http.post(
        f"{base}/bookings/{done}/completion",
        json={"completed_on": f"{YEAR}-03-11"},
        headers=cadre(c),
    )
    assert completed.status_code == 200, completed.text
    stats = (await stack.welfare_http.get(f"{base}/statistics", headers=cadre(c))).json()
    assert [(a["member_id"], a["slot"], a["day"]) for a in stats["awaiting_completion"]] == [
        (booked, "b", f"{YEAR}-03-11")
    ]
    assert stats["awaiting_completion"][0]["staff_no"].startswith("S")

    for who in (member(waiting[0], c), cadre("elsewhere"), auditor(c)):
        refused = await stack.welfare_http.post(f"{base}/reminders", headers=who)
        assert refused.status_code == 403, refused.text

    async def press() -> dict[str, Any]:
        answer = await stack.welfare_http.post(f"{base}/reminders", headers=cadre(c))
        assert answer.status_code == 200, answer.text
        return answer.json()

    answers = [*await asyncio.gather(*(press() for _ in range(5))), await press()]
    assert sorted(a["sent_now"] for a in answers) == [False] * 5 + [True]
    assert {(a["day"], a["members"], a["at"]) for a in answers} == {
        (answers[0]["day"], 3, answers[0]["at"])
    }
    plan_id = f"{c}:{YEAR}"

    async def reminders() -> list[dict[str, Any]]:
        return [
            conforms(e)
            for e in (
                json.loads(r.value)
                for r in await read_all(stack.bootstrap, stack.topic("welfare.exam_plan"), 1000)
            )
            if e["type"] == "welfare.exam_plan.booking_reminder_requested.v1"
            and e["subject"] == plan_id
        ]

    for _ in range(50):  # the relay publishes within moments
        if await reminders():
            break
        await asyncio.sleep(0.1)
    [event] = await reminders()
    assert sorted(event["data"]["member_ids"]) == sorted(waiting)
    assert event["data"]["requested_on"] == answers[0]["day"]
    assert (event["data"]["last_day"], event["data"]["year"]) == (f"{YEAR}-03-11", YEAR)
    assert event["campus"] == c and not {"name", "staff_no"} & set(event["data"])

    everyone = campus()
    await plan(stack, everyone)
    [alone] = await people(stack, everyone, 1)
    assert (await book(stack, everyone, alone)).status_code == 200
    nobody = await stack.welfare_http.post(
        f"/exams/plans/{everyone}/{YEAR}/reminders", headers=cadre(everyone)
    )
    assert nobody.status_code == 409 and nobody.json()["code"] == "exam.nobody_to_remind"
    assert "均已预约" in nobody.json()["title"]
    past, last_year = campus(), YEAR - 2
    body = settings()
    body["slots"] = [{"code": "a", "provider": "rmyy", "day": f"{last_year}-03-10", "capacity": 5}]
    put = await stack.welfare_http.put(
        f"/exams/plans/{past}/{last_year}", json=body, headers=cadre(past)
    )
    assert put.status_code == 200, put.text
    await people(stack, past, 1)
    over = await stack.welfare_http.post(
        f"/exams/plans/{past}/{last_year}/reminders", headers=cadre(past)
    )
    assert over.status_code == 409 and over.json()["code"] == "exam.booking_over"
