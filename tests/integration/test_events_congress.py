"""The staff congress on the real broker and database: representatives (by hand, and from
the congress terms `members.member` events carry), a proposal's full path (draft → co-sign → submit → endorse → accepted → assigned → replied → rated → second
reply), the co-sign threshold, the committee's other decisions, the public register, and
resolutions with their quorum, one vote per representative under concurrency."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator, FormatChecker

from services.events.congress.store import BALLOTS
from shared.events.members import MemberJoinedV2, MemberWithdrawn
from shared.readmodels.member_directory import MEMBER_DIRECTORY
from shared.timeutil import local_today
from tests.integration import events_kit as kit
from tests.integration.conftest import Stack, stack_fixture
from tests.integration.notify_kit import publish
from tests.kafka_tools import read_all

pytestmark = pytest.mark.integration

SCHEMAS = Path(__file__).resolve().parents[2] / "docs" / "events" / "schemas"
TOPICS = ("events.congress", "events.proposal", "events.resolution")

stack = stack_fixture("events", scope="module")


async def _ok(response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def _problem(response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["code"] == code, response.text


async def _events(stack: Stack) -> list[dict]:
    await kit.settled(stack, *TOPICS)
    out = []
    for topic in TOPICS:
        for record in await read_all(stack.bootstrap, stack.topic(topic), timeout_ms=1000):
            event = json.loads(record.value)
            schema = json.loads((SCHEMAS / f"{event['type']}.json").read_text())
            Draft202012Validator(schema, format_checker=FormatChecker()).validate(event["data"])
            out.append(event)
    return out


async def _session(stack: Stack, reps: list[str], head: str, **over) -> str:
    http, cadre = stack.events_http, kit.cadre()
    body = {
        "title": "第五届教代会第三次会议",
        "year": 2026,
        "campus": "main",
        "cosign_min": 2,
        "proposals_until": kit.later(1),
        **over,
    }
    made = await _ok(await http.post("/congress/sessions", json=body, headers=cadre), 201)
    url = f"/congress/sessions/{made['id']}/representatives"
    listed = await _ok(await http.post(url, json={"member_ids": reps, "head": head}, headers=cadre))
    assert sorted(r["member_id"] for r in listed) == sorted(reps)
    return made["id"]


async def _joined(stack: Stack, member_id: str, campus: str, *terms: tuple[int, int]) -> None:
    """A member's `members.member.joined.v2` as members publishes it, with their terms."""
    event = MemberJoinedV2(
        member_id=member_id,
        staff_no=member_id.upper(),
        name=f"代表{member_id[-2:]}",
        campus=campus,
        department="语文组",
        status="active",
        congress_terms=[{"term": "第五届", "start_year": y, "years": n} for y, n in terms],
    )
    await publish(stack, event, subject=member_id, campus=campus)


async def test_representatives_come_from_the_members_congress_terms(stack: Stack):
    """The session of 2026 takes the active members of its campus whose term covers 2026:
    not one whose term ended in 2025, nor one who left, nor one of another campus; twice is
    once; a member or another campus's cadre cannot import."""
    http, cadre = stack.events_http, kit.cadre()
    run = uuid.uuid4().hex[:5]
    serving, ended, left, east, manual = (f"m-ct{run}-{i:02d}" for i in range(5))
    await _joined(stack, serving, "main", (2020, 3), (2024, 3))  # 2026 is its last year
    await _joined(stack, ended, "main", (2023, 3))  # 2023 … 2025
    await _joined(stack, left, "main", (2025, 3))
    await _joined(stack, east, "east", (2025, 3))
    await _joined(stack, manual, "main")
    withdrawn = MemberWithdrawn(
        member_id=left, campus="main", department="语文组", withdrawn_on=date(2026, 3, 1)
    )
    await publish(stack, withdrawn, subject=left, campus="main", version=2)
    await kit.known_to_events(stack, serving, ended, east, manual)
    await kit.known_to_events(stack, left, status="withdrawn")
    known = await stack.events.db[MEMBER_DIRECTORY].find_one({"_id": serving})
    assert [t["start_year"] for t in known["congress_terms"]] == [2020, 2024]

    sid = await _session(stack, [manual], head=manual)  # registered by hand, no term
    url = f"/congress/sessions/{sid}/representatives/from-terms"
    _problem(await http.post(url, headers=kit.member(serving)), 403, "auth.forbidden")
    _problem(await http.post(url, headers=kit.cadre("east")), 404, "congress.not_found")
    first = await _ok(await http.post(url, headers=cadre))
    assert first["year"] == 2026
    assert [(r["member_id"], r["delegation"]) for r in first["added"]] == [(serving, "main")]
    assert first["already"] == []
    again = await _ok(await http.post(url, headers=cadre))
    assert (again["added"], [r["member_id"] for r in again["already"]]) == ([], [serving])
    listed = await _ok(await http.get(f"/congress/sessions/{sid}/representatives", headers=cadre))
    assert sorted(r["member_id"] for r in listed) == sorted([serving, manual])
    session = await _ok(await http.get(f"/congress/sessions/{sid}", headers=kit.member(serving)))
    assert session["i_am_representative"] and session["representatives"] == 2


async def test_a_proposal_from_draft_to_second_reply(stack: Stack):
    http, cadre = stack.events_http, kit.cadre()
    run = uuid.uuid4().hex[:5]
    reps = await kit.in_directory(stack, 6, f"RP{run}")
    outsider = (await kit.in_directory(stack, 1, f"RO{run}"))[0]
    sid = await _session(stack, reps, head=reps[5])
    again = await http.post(
        f"/congress/sessions/{sid}/representatives", json={"member_ids": reps[:2]}, headers=cadre
    )
    assert len(await _ok(again)) == 6  # twice is once
    session = await _ok(await http.get(f"/congress/sessions/{sid}", headers=kit.member(reps[0])))
    assert session["i_am_representative"] and session["representatives"] == 6
    assert session["heads"] == {"main": reps[5]}

    body = {
        "title": "关于改善教工食堂午餐质量的提案",
        "reasons": "午餐品种单一",
        "measures": "引入第二家供餐单位，每月公示菜单",
        "category": "logistics",
        "department": "后勤处",
    }
    refused = await http.post(
        f"/congress/sessions/{sid}/proposals", json=body, headers=kit.member(outsider)
    )
    _problem(refused, 403, "congress.not_a_representative")
    made = await _ok(
        await http.post(
            f"/congress/sessions/{sid}/proposals", json=body, headers=kit.member(reps[0])
        ),
        201,
    )
    pid, url = made["id"], f"/congress/proposals/{made['id']}"
    assert made["status"] == "draft" and made["number"] is None

    # Below the threshold it cannot be submitted; co-signing twice at once is once.
    _problem(
        await http.post(f"{url}/submit", headers=kit.member(reps[0])),
        409,
        "proposal.too_few_cosigners",
    )
    _problem(await http.post(f"{url}/cosign", headers=kit.member(reps[0])), 409, "proposal.own")
    _problem(
        await http.post(f"{url}/cosign", headers=kit.member(outsider)),
        403,
        "congress.not_a_representative",
    )
    burst = await asyncio.gather(
        *(http.post(f"{url}/cosign", headers=kit.member(reps[1])) for _ in range(6))
    )
    assert {r.status_code for r in burst} == {200}
    one = await _ok(await http.get(url, headers=kit.member(outsider)))
    assert len(one["cosigners"]) == 1
    _problem(
        await http.post(f"{url}/submit", headers=kit.member(reps[0])),
        409,
        "proposal.too_few_cosigners",
    )
    await _ok(await http.post(f"{url}/cosign", headers=kit.member(reps[2])))
    _problem(await http.post(f"{url}/submit", headers=kit.member(reps[1])), 403, "auth.forbidden")
    twins = await asyncio.gather(
        *(http.post(f"{url}/submit", headers=kit.member(reps[0])) for _ in range(3))
    )
    assert sorted(r.status_code for r in twins) == [200, 409, 409]
    submitted = next(r.json() for r in twins if r.status_code == 200)
    assert submitted["status"] == "submitted" and submitted["number"] == 1
    assert {r.json()["code"] for r in twins if r.status_code == 409} <= {
        "proposal.submitting",
        "proposal.invalid_transition",
    }
    _problem(
        await http.post(f"{url}/cosign", headers=kit.member(reps[3])), 409, "proposal.not_a_draft"
    )

    # The delegation head endorses; the committee decides; the department replies.
    _problem(
        await http.post(f"{url}/endorse", headers=kit.member(reps[1])), 403, "proposal.not_the_head"
    )
    assert (await _ok(await http.post(f"{url}/endorse", headers=kit.member(reps[5]))))[
        "status"
    ] == "endorsed"
    _problem(
        await http.post(f"{url}/decision", json={"decision": "rejected"}, headers=cadre),
        409,
        "proposal.reason_required",
    )
    _problem(
        await http.post(
            f"{url}/decision", json={"decision": "accepted"}, headers=kit.member(reps[0])
        ),
        403,
        "auth.forbidden",
    )
    accepted = await _ok(
        await http.post(f"{url}/decision", json={"decision": "accepted"}, headers=cadre)
    )
    assert accepted["status"] == "accepted" and accepted["status_label"] == "已立案"
    early = await http.post(
        f"{url}/rating", json={"rating": "satisfied"}, headers=kit.member(reps[0])
    )
    _problem(early, 409, "proposal.invalid_transition")
    assert "已立案" in early.json()["title"]
    today = local_today().isoformat()
    assigned = await _ok(
        await http.post(
            f"{url}/assignment", json={"department": "后勤处", "due_on": today}, headers=cadre
        )
    )
    assert assigned["handling_department"] == "后勤处" and assigned["overdue"] is False
    replied = await _ok(
        await http.post(f"{url}/reply", json={"text": "已引入第二家供餐单位"}, headers=cadre)
    )
    assert replied["status"] == "replied" and replied["replies"][0]["second"] is False
    _problem(
        await http.post(
            f"{url}/rating", json={"rating": "unsatisfied"}, headers=kit.member(reps[1])
        ),
        403,
        "auth.forbidden",
    )
    rated = await _ok(
        await http.post(
            f"{url}/rating", json={"rating": "unsatisfied"}, headers=kit.member(reps[0])
        )
    )
    assert rated["rating"] == "unsatisfied"
    reopened = await _ok(await http.post(f"{url}/second-reply", headers=kit.member(reps[0])))
    assert reopened["status"] == "reopened" and reopened["second_asked"]
    await _ok(await http.post(f"{url}/reply", json={"text": "菜单每月公示"}, headers=cadre))
    final = await _ok(
        await http.post(f"{url}/rating", json={"rating": "basically"}, headers=kit.member(reps[0]))
    )
    assert (final["rating"], final["second_rating"]) == ("unsatisfied", "basically")
    assert [r["second"] for r in final["replies"]] == [False, True]
    _problem(
        await http.post(f"{url}/second-reply", headers=kit.member(reps[0])),
        409,
        "proposal.second_reply_used",
    )

    # The committee's other decisions: merged into the first, rejected with a reason.
    others = []
    for i, title in enumerate(("关于食堂延长供餐时间的提案", "关于增加停车位的提案")):
        made = await _ok(
            await http.post(
                f"/congress/sessions/{sid}/proposals",
                json={**body, "title": title},
                headers=kit.member(reps[3 + i]),
            ),
            201,
        )
        purl = f"/congress/proposals/{made['id']}"
        for signer in reps[:2]:
            await _ok(await http.post(f"{purl}/cosign", headers=kit.member(signer)))
        await _ok(await http.post(f"{purl}/submit", headers=kit.member(reps[3 + i])))
        await _ok(await http.post(f"{purl}/endorse", headers=kit.member(reps[5])))
        others.append(purl)
    merged = await _ok(
        await http.post(
            f"{others[0]}/decision",
            json={"decision": "merged", "reason": "与 1 号提案内容相近", "merge_into": pid},
            headers=cadre,
        )
    )
    assert merged["merged_into"] == pid and merged["number"] == 2
    rejected = await _ok(
        await http.post(
            f"{others[1]}/decision",
            json={"decision": "rejected", "reason": "不属于教代会职权范围"},
            headers=cadre,
        )
    )
    assert rejected["status"] == "rejected"
    _problem(
        await http.post(
            f"{others[1]}/assignment", json={"department": "保卫处", "due_on": today}, headers=cadre
        ),
        409,
        "proposal.invalid_transition",
    )

    # The public register, read by any member of the campus.
    await kit.settled(stack, *TOPICS)
    register = await _ok(
        await http.get(f"/congress/sessions/{sid}/proposals", headers=kit.member(outsider))
    )
    assert [(p["number"], p["status"]) for p in register] == [
        (1, "rated"),
        (2, "merged"),
        (3, "rejected"),
    ]
    first = register[0]
    assert first["proposer_name"] and len(first["cosigners"]) == 2
    assert first["handling_department"] == "后勤处" and first["second_rating"] == "basically"
    assert (
        await _ok(await http.get(f"/congress/sessions/{sid}/proposals?overdue=true", headers=cadre))
        == []
    )
    found = await _ok(await http.get("/congress/sessions?q=第三次&year=2026", headers=cadre))
    assert sid in [s["id"] for s in found]
    assert (
        await http.get(f"/congress/sessions/{sid}", headers=kit.cadre("east"))
    ).status_code == 404

    events = await _events(stack)
    path = [
        e["data"]["status"]
        for e in events
        if e["type"] == "events.proposal.moved.v1" and e["data"]["proposal_id"] == pid
    ]
    assert path == [
        "draft",
        "submitted",
        "endorsed",
        "accepted",
        "assigned",
        "replied",
        "rated",
        "reopened",
        "replied",
        "rated",
    ]


async def test_resolutions_quorum_and_one_vote_per_representative(stack: Stack):
    http, cadre = stack.events_http, kit.cadre()
    run = uuid.uuid4().hex[:5]
    reps = await kit.in_directory(stack, 6, f"RV{run}")
    outsider = (await kit.in_directory(stack, 1, f"RX{run}"))[0]
    sid = await _session(stack, reps, head=reps[0])

    async def resolution(title: str) -> str:
        made = await _ok(
            await http.post(
                f"/congress/sessions/{sid}/resolutions",
                json={"title": title, "text": "全文"},
                headers=cadre,
            ),
            201,
        )
        return made["id"]

    async def votes(rid: str, choices: list[str]) -> None:
        url = f"/congress/resolutions/{rid}/votes"
        # Each representative votes twice at once: one vote each.
        sent = await asyncio.gather(
            *(
                http.post(url, json={"choice": c}, headers=kit.member(reps[i]))
                for i, c in enumerate(choices)
                for _ in range(2)
            )
        )
        assert sorted(r.status_code for r in sent) == [200] * len(choices) + [409] * len(choices)

    passed, short, failed = [await resolution(t) for t in ("工作报告", "财务报告", "章程修改")]
    await votes(passed, ["for", "for", "for", "for"])
    await votes(short, ["for", "for", "for"])
    await votes(failed, ["for", "for", "for", "against"])
    _problem(
        await http.post(
            f"/congress/resolutions/{passed}/votes",
            json={"choice": "for"},
            headers=kit.member(outsider),
        ),
        403,
        "congress.not_a_representative",
    )

    closed = {}
    for rid in (passed, short, failed):
        closed[rid] = await _ok(
            await http.post(f"/congress/resolutions/{rid}/close", headers=cadre)
        )
    assert (closed[passed]["status"], closed[passed]["votes_for"]) == ("passed", 4)
    assert closed[short]["status"] == "no_quorum"  # 3 of 6 took part: fewer than two thirds
    assert closed[failed]["status"] == "failed"  # 3 for: not more than half of all 6
    assert closed[failed]["representatives"] == 6 and closed[failed]["votes_against"] == 1
    _problem(
        await http.post(
            f"/congress/resolutions/{passed}/votes",
            json={"choice": "for"},
            headers=kit.member(reps[5]),
        ),
        409,
        "resolution.closed",
    )
    _problem(
        await http.post(f"/congress/resolutions/{passed}/close", headers=cadre),
        409,
        "resolution.closed",
    )

    await kit.settled(stack, *TOPICS)
    session = await _ok(await http.get(f"/congress/sessions/{sid}", headers=kit.member(reps[0])))
    mine = {r["id"]: r["i_voted"] for r in session["resolutions"]}
    assert mine == {passed: True, short: True, failed: True}
    async for ballot in stack.events.db[BALLOTS].find({"resolution": passed}):
        assert not any(r in json.dumps(ballot, default=str) for r in reps)
    events = await _events(stack)
    decided = {
        e["data"]["resolution_id"]: e["data"]
        for e in events
        if e["type"] == "events.resolution.decided.v1"
    }
    assert decided[passed]["votes_for"] == 4 and decided[short]["status"] == "no_quorum"
    assert not [e for e in events if any(r in json.dumps(e) for r in reps[1:])]
