"""The childcare enrolment survey (入园入托统计) over HTTP on the real Kafka and MongoDB wire:
rounds, answers (once per member, also when clicked twice), who has not answered, statistics
by age band at the survey date, CSV, and who may see what."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import AsyncIterator

import pytest

from tests.integration.conftest import Stack, bearer, build_stack, close_stack, join
from tests.kafka_tools import read_all, wait_until

pytestmark = pytest.mark.integration

ADMIN = bearer("admin-1", ["admin"], ["*"])


@pytest.fixture(scope="module")
async def members(infra) -> AsyncIterator[Stack]:
    """members alone; each test uses its own campus, so counts are its own."""
    s = await build_stack(infra, ["members"])
    try:
        yield s
    finally:
        await close_stack(s)


def cadre(campus: str) -> dict[str, str]:
    return bearer(f"cadre-{campus}", ["cadre"], [campus])


def me(member: dict) -> dict[str, str]:
    return bearer(member["id"], ["member"], [member["campus"]])


async def open_round(stack: Stack, campus: str, day: str = "2026-04-15", **over) -> dict:
    body = {"campus": campus, "survey_date": day, "deadline": "2026-04-30", **over}
    response = await stack.members_http.post("/childcare/rounds", json=body, headers=cadre(campus))
    assert response.status_code == 201, response.text
    return response.json()


async def answer(stack: Stack, round_id: str, member: dict, children=None):
    body = {} if children is None else {"children": children}
    return await stack.members_http.put(
        f"/childcare/rounds/{round_id}/answer", json=body, headers=me(member)
    )


def kid(name: str, born: str, status: str = "kindergarten", institution: str | None = None):
    return {"name": name, "birth_date": born, "care_status": status, "institution": institution}


async def members_in_view(stack: Stack, campus: str, n: int) -> None:
    async def listed() -> bool:
        found = await stack.members_http.get(
            "/members", params={"campus": campus, "status": "active"}, headers=cadre(campus)
        )
        return found.json()["total"] == n

    await wait_until(listed, 30, f"{n} members of {campus} in the list view")


async def test_a_round_is_opened_once_per_campus_and_date_and_announced(members: Stack):
    stack = members
    attempts = await asyncio.gather(
        *(
            stack.members_http.post(
                "/childcare/rounds",
                json={"campus": "west", "survey_date": "2026-04-10"},
                headers=cadre("west"),
            )
            for _ in range(6)
        )
    )
    assert sorted(r.status_code for r in attempts) == [201] + [409] * 5
    created = next(r.json() for r in attempts if r.status_code == 201)
    assert created["id"] == "cc-west-20260410" and created["status"] == "open"
    assert created["title"] == "2026年教职工子女入园入托统计"
    assert next(r for r in attempts if r.status_code == 409).json()["code"] == (
        "childcare.round_exists"
    )
    # Another campus's cadre may not open it; an unknown campus is not found.
    other = await stack.members_http.post(
        "/childcare/rounds",
        json={"campus": "west", "survey_date": "2026-04-11"},
        headers=cadre("north"),
    )
    assert other.status_code == 403
    unknown = await stack.members_http.post(
        "/childcare/rounds",
        json={"campus": "nowhere", "survey_date": "2026-04-11"},
        headers=bearer("a", ["admin"], ["*"]),
    )
    assert unknown.status_code == 404 and unknown.json()["code"] == "org.unknown_campus"

    async def announced() -> list[dict]:
        records = await read_all(stack.bootstrap, stack.topic("members.childcare"), 1000)
        return [json.loads(r.value) for r in records if r.key.decode() == created["id"]]

    await wait_until(lambda: _nonempty(announced()), 20, "round_opened on members.childcare")
    [event] = await announced()
    assert event["type"] == "members.childcare.round_opened.v1"
    assert event["data"] == {
        "round_id": "cc-west-20260410",
        "campus": "west",
        "title": "2026年教职工子女入园入托统计",
        "survey_date": "2026-04-10",
        "deadline": None,
    }
    # The round list view follows its events; members of the campus see it too.
    member = await join(stack, "CW0001", campus="west")

    async def listed() -> bool:
        page = await stack.members_http.get("/childcare/rounds", headers=me(member))
        return [r["id"] for r in page.json()["items"]] == ["cc-west-20260410"]

    await wait_until(listed, 20, "the round in the list")


async def _nonempty(found) -> bool:
    return bool(await found)


async def test_answers_once_per_member_confirmed_again_or_updated(members: Stack):
    stack = members
    found = await open_round(stack, "east")
    url = f"/childcare/rounds/{found['id']}"
    a = await join(stack, "CE0001", campus="east")
    kids = [kid("小明", "2021-05-01", "kindergarten", "实验幼儿园")]
    first = await answer(stack, found["id"], a, kids)
    assert first.status_code == 200, first.text
    assert first.json()["revision"] == 1 and not first.json()["replayed"]
    assert first.json()["children"][0]["name"] == "小明"
    # Confirming again — with no body, or with the same children — is the same answer.
    for again in (None, kids):
        same = await answer(stack, found["id"], a, again)
        assert same.json()["revision"] == 1 and same.json()["replayed"], same.text
    # The children are the member's own record, a recorded change.
    own = await stack.members_http.get(f"/members/{a['id']}", headers=me(a))
    assert own.json()["children"] == first.json()["children"]
    # An update in the round is a new revision of the one answer.
    kids2 = [*kids, kid("小红", "2024-02-01", "daycare", "小太阳托育")]
    updated = await answer(stack, found["id"], a, kids2)
    assert updated.json()["revision"] == 2 and len(updated.json()["children"]) == 2
    mine = await stack.members_http.get(f"{url}/answer", headers=me(a))
    assert mine.json()["revision"] == 2

    # A double click of someone else's first answer: one answer.
    b = await join(stack, "CE0002", campus="east")
    clicks = await asyncio.gather(
        *(
            answer(stack, found["id"], b, [kid("小刚", "2019-09-09", "primary", "第一小学")])
            for _ in range(8)
        )
    )
    assert {r.status_code for r in clicks} == {200}
    assert {r.json()["revision"] for r in clicks} == {1}
    answers = stack.members.db["childcare_answers"]
    assert await answers.count_documents({"round": found["id"], "member": b["id"]}) == 1

    # Who may answer: only active members of the round's campus, only for themselves.
    north = await join(stack, "CE0003", campus="north")
    assert (await answer(stack, found["id"], north, [])).status_code == 404
    retired = await join(stack, "CE0004", campus="east")
    await stack.members_http.post(f"/members/{retired['id']}/retire", headers=cadre("east"))
    refused = await answer(stack, found["id"], retired, [])
    assert refused.status_code == 409 and refused.json()["code"] == "childcare.member_not_active"
    not_a_member = await stack.members_http.put(f"{url}/answer", json={}, headers=cadre("east"))
    assert not_a_member.status_code == 403
    missing = await stack.members_http.get(
        "/childcare/rounds/cc-east-20990101", headers=cadre("east")
    )
    assert missing.status_code == 404 and missing.json()["code"] == "childcare.round_not_found"


async def test_who_has_not_answered_paged(members: Stack):
    stack = members
    found = await open_round(stack, "main", "2026-04-16")
    people = [await join(stack, f"CM{i:04d}", campus="main") for i in range(7)]
    applicant = await join(stack, "CM9999", campus="main", as_applicant=True)
    for person in people[:3]:
        assert (await answer(stack, found["id"], person, [])).status_code == 200
    await members_in_view(stack, "main", 7)
    url = f"/childcare/rounds/{found['id']}/unanswered"
    pages = [
        (
            await stack.members_http.get(
                url, params={"limit": 3, "offset": o}, headers=cadre("main")
            )
        ).json()
        for o in (0, 3)
    ]
    assert [p["total"] for p in pages] == [4, 4]
    listed = [m["staff_no"] for p in pages for m in p["items"]]
    assert listed == ["CM0003", "CM0004", "CM0005", "CM0006"]  # by staff number, no applicant
    assert applicant["staff_no"] not in listed
    # A cadre of another campus sees nothing of this round.
    for path in ("", "/unanswered", "/stats", "/stats.csv"):
        response = await stack.members_http.get(
            f"/childcare/rounds/{found['id']}{path}", headers=cadre("north")
        )
        assert response.status_code == 404, path


async def test_statistics_by_age_band_at_the_survey_date_and_closing(infra):
    stack = await build_stack(infra, ["members"])
    try:
        found = await open_round(stack, "north", "2026-04-15")
        rid = found["id"]
        a, b, c, d = [await join(stack, f"CN{i:04d}", campus="north") for i in range(4)]
        await answer(
            stack,
            rid,
            a,
            [
                kid("甲", "2024-01-01", "daycare", "小太阳托育"),  # 2 on the survey date
                kid("乙", "2023-04-15", "kindergarten", "实验幼儿园"),  # 3 that very day
            ],
        )
        await answer(stack, rid, b, [kid("丙", "2020-04-16", "kindergarten", "实验幼儿园")])  # 5
        await answer(
            stack,
            rid,
            c,
            [
                kid("丁", "2014-04-15", "primary", "第一小学"),  # 12: 12+
                kid("戊", "2026-05-01", "none"),  # born after the survey date
            ],
        )
        await members_in_view(stack, "north", 4)
        stats = await stack.members_http.get(
            f"/childcare/rounds/{rid}/stats", headers=cadre("north")
        )
        s = stats.json()
        assert (s["expected"], s["answered"], s["children"], s["not_born_yet"]) == (4, 3, 4, 1)
        assert s["by_age_band"] == {"0-2": 1, "3-5": 2, "6-11": 0, "12+": 1}
        assert s["by_care_status"] == {"none": 0, "daycare": 1, "kindergarten": 2, "primary": 1}
        assert s["by_institution"] == {"实验幼儿园": 2, "小太阳托育": 1, "第一小学": 1}
        assert s["by_campus"] == {"north": 4}
        assert [
            (g["age_band"], g["care_status"], g["institution"], g["count"]) for g in s["groups"]
        ] == [
            ("0-2", "daycare", "小太阳托育", 1),
            ("3-5", "kindergarten", "实验幼儿园", 2),
            ("12+", "primary", "第一小学", 1),
        ]
        exported = await stack.members_http.get(
            f"/childcare/rounds/{rid}/stats.csv", headers=cadre("north")
        )
        assert exported.headers["content-type"].startswith("text/csv")
        assert exported.content.startswith("\ufeff".encode())
        rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
        assert rows[0] == ["校区", "年龄段", "就读状态", "就读机构", "人数"]
        assert rows[2] == ["north校区", "3–5岁", "幼儿园", "实验幼儿园", "2"]
        assert rows[-1] == ["合计", "", "", "", "4"]

        closed = await stack.members_http.post(
            f"/childcare/rounds/{rid}/close", headers=cadre("north")
        )
        assert closed.json()["status"] == "closed"
        assert (closed.json()["answered"], closed.json()["expected"]) == (3, 4)
        late = await answer(stack, rid, d, [])
        assert late.status_code == 409 and late.json()["code"] == "childcare.round_closed"
        again = await stack.members_http.post(
            f"/childcare/rounds/{rid}/close", headers=cadre("north")
        )
        assert again.status_code == 409
        # A member changing their children later does not change the closed round's counts.
        await stack.members_http.put(
            f"/members/{b['id']}/children", json={"children": []}, headers=me(b)
        )
        final = await stack.members_http.get(
            f"/childcare/rounds/{rid}/stats", headers=cadre("north")
        )
        assert final.json()["children"] == 4 and final.json()["expected"] == 4
    finally:
        await close_stack(stack)


async def test_children_are_shown_only_to_the_member_and_admins_and_never_published(
    members: Stack,
):
    stack = members
    m = await join(stack, "CK0001", campus="west", email="k@school.local")
    kids = {"children": [kid("小明", "2021-05-01", "kindergarten", "实验幼儿园")]}
    put = await stack.members_http.put(f"/members/{m['id']}/children", json=kids, headers=me(m))
    assert put.status_code == 200 and put.json()["children"][0]["name"] == "小明"
    url = f"/members/{m['id']}"
    seen = {}
    for who, headers in {
        "self": me(m),
        "admin": ADMIN,
        "cadre": cadre("west"),
        "auditor": bearer("aud", ["auditor"], ["west"]),
        "finance": bearer("fin", ["finance"], ["west"]),
    }.items():
        seen[who] = (await stack.members_http.get(url, headers=headers)).json()["children"]
    assert seen["self"] == seen["admin"] == put.json()["children"]
    assert seen["cadre"] is seen["auditor"] is seen["finance"] is None
    # Nobody else reads or writes them directly; another campus's admin does not find them.
    assert (
        await stack.members_http.get(f"{url}/children", headers=cadre("west"))
    ).status_code == 403
    other = bearer("admin-n", ["admin"], ["north"])
    assert (await stack.members_http.get(f"{url}/children", headers=other)).status_code == 404
    another = await join(stack, "CK0002", campus="west")
    assert (
        await stack.members_http.put(f"{url}/children", json=kids, headers=me(another))
    ).status_code == 403
    # The history says that they changed, never what they are.
    history = await stack.members_http.get(f"{url}/history", headers=ADMIN)
    [change] = [c for c in history.json() if c["action"] == "set_children"]
    assert change["changed"] == {"children": {"from": "***", "to": "***"}}

    # Kafka carries only the name of the field.
    async def updated() -> list[dict]:
        records = await read_all(stack.bootstrap, stack.topic("members.member"), 1000)
        return [
            json.loads(r.value)
            for r in records
            if r.key.decode() == m["id"] and r.value and b"updated" in r.value
        ]

    await wait_until(lambda: _nonempty(updated()), 20, "members.member.updated")
    [event] = await updated()
    assert event["data"]["changed"] == ["children"]
    assert "小明" not in json.dumps(event, ensure_ascii=False)
