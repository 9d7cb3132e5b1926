"""Commendations on the real broker and database: a campaign from nomination to result, the
vote limits (K per voter, one per candidate) under concurrency, the tally equal to the votes
accepted, a vote after the close refused, a vote in flight at the close either in the 公示
list or withdrawn (never in the tally and not the list), no voter next to a candidate
anywhere in the database or in an event, objections, and the recommendation form."""

from __future__ import annotations

import asyncio
import io
import json
import random
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator, FormatChecker
from openpyxl import load_workbook

from services.events.commendations import handlers
from services.events.commendations.store import BALLOTS, SLOTS, BallotBox
from shared.timeutil import local_today, utcnow
from tests.integration import events_kit as kit
from tests.integration.conftest import Stack, stack_fixture
from tests.kafka_tools import read_all

pytestmark = pytest.mark.integration

SCHEMAS = Path(__file__).resolve().parents[2] / "docs" / "events" / "schemas"
TOPICS = ("events.campaign", "events.nomination", "events.objection")

stack = stack_fixture("events", scope="module")


def _campaign(**over) -> dict:
    return {
        "title": "2026 年度师德标兵评选",
        "year": 2026,
        "campus": "main",
        "categories": [
            {
                "name": "师德标兵",
                "kind": "teacher_ethics",
                "quotas": [{"campus": "main", "count": 2}],
                "votes_per_voter": 3,
            },
            {
                "name": "市劳模推荐",
                "kind": "city_model_worker",
                "quotas": [{"campus": "main", "count": 1}],
                "votes_per_voter": 1,
                "eligibility": {"statuses": ["active"], "age_min": 30},
            },
        ],
        **over,
    }


async def _ok(response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


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


async def _shortlisted_campaign(
    stack: Stack, candidates: list[str], body: dict | None = None, settle: bool = True
) -> tuple[str, list[str]]:
    http, cadre = stack.events_http, kit.cadre()
    made = await _ok(
        await http.post("/commendations", json=body or _campaign(), headers=cadre), 201
    )
    cid = made["id"]
    ids = []
    for member_id in candidates:
        body = {"category_id": "c1", "member_id": member_id, "reasons": "爱岗敬业，教书育人"}
        ids.append(
            (
                await _ok(
                    await http.post(f"/commendations/{cid}/nominations", json=body, headers=cadre),
                    201,
                )
            )["id"]
        )
    for nid in ids:
        url = f"/commendations/{cid}/nominations/{nid}/review"
        await _ok(await http.post(url, json={"decision": "shortlisted"}, headers=cadre))
    await _ok(
        await http.post(f"/commendations/{cid}/phase", json={"to": "reviewing"}, headers=cadre)
    )
    move = {"to": "voting", "voting_closes_at": kit.later(1)}
    await _ok(await http.post(f"/commendations/{cid}/phase", json=move, headers=cadre))
    if settle:
        await kit.settled(stack, *TOPICS)  # the candidates' view has them shortlisted
    return cid, ids


def days_on(monkeypatch: pytest.MonkeyPatch, days: int) -> None:
    """The commendations' clock `days` from now (the service runs in this process)."""
    monkeypatch.setattr(handlers, "utcnow", lambda: utcnow() + timedelta(days=days))


async def test_a_campaign_from_nomination_to_result(stack: Stack, monkeypatch: pytest.MonkeyPatch):
    http, cadre = stack.events_http, kit.cadre()
    run = uuid.uuid4().hex[:5]
    people = await kit.in_directory(stack, 8, f"CM{run}", birth_year=1980, birthday="01-01")
    young = (await kit.in_directory(stack, 1, f"CY{run}", birth_year=2003))[0]
    made = await _ok(await http.post("/commendations", json=_campaign(), headers=cadre), 201)
    cid, url = made["id"], f"/commendations/{made['id']}"
    assert made["phase"] == "nominating" and [c["id"] for c in made["categories"]] == ["c1", "c2"]
    assert made["next_phases"] == ["reviewing"], "the desk offers only the moves there are"
    assert (
        await http.post("/commendations", json=_campaign(), headers=kit.member(people[0]))
    ).status_code == 403

    def nominate(member_id, headers, category="c1", **more):
        body = {"category_id": category, "member_id": member_id, "reasons": "教书育人", **more}
        return http.post(f"{url}/nominations", json=body, headers=headers)

    # By oneself, by a colleague, by the union, by a department; twice is refused.
    own = await _ok(await nominate(people[0], kit.member(people[0])), 201)
    assert own["by_kind"] == "self" and own["status"] == "nominated"
    other = await _ok(
        await nominate(
            people[1],
            kit.member(people[0]),
            attachments=[
                {"name": "事迹材料.pdf", "content_type": "application/pdf", "size_bytes": 20480}
            ],
        ),
        201,
    )
    assert other["by_kind"] == "member" and other["attachments"][0]["name"] == "事迹材料.pdf"
    assert (await _ok(await nominate(people[2], cadre), 201))["by_kind"] == "cadre"
    dept = await _ok(await nominate(people[3], cadre, department="学前教育系"), 201)
    assert dept["by_kind"] == "department" and dept["nominator_id"] is None
    assert (await _ok(await nominate(people[4], cadre), 201))["status"] == "nominated"
    again = await nominate(people[0], cadre)
    assert again.status_code == 409 and again.json()["code"] == "nomination.exists"
    as_member_for_dept = await nominate(people[5], kit.member(people[0]), department="系")
    assert as_member_for_dept.status_code == 403
    too_young = await nominate(young, cadre, category="c2")
    assert too_young.status_code == 409 and too_young.json()["code"] == "nomination.not_eligible"
    assert "市劳模推荐" in too_young.json()["title"]
    other_campus = await nominate(people[5], kit.cadre("east"))
    assert other_campus.status_code == 404  # another campus's campaign is not even seen

    # Review: shortlist four, reject one (a reason is required); the transitions table.
    nids = [own["id"], other["id"], f"{cid}-c1-{people[2]}", dept["id"]]
    for nid in nids:
        await _ok(
            await http.post(
                f"{url}/nominations/{nid}/review", json={"decision": "shortlisted"}, headers=cadre
            )
        )
    rejected = f"{cid}-c1-{people[4]}"
    no_reason = await http.post(
        f"{url}/nominations/{rejected}/review", json={"decision": "rejected"}, headers=cadre
    )
    assert no_reason.status_code == 409 and no_reason.json()["code"] == "nomination.reason_required"
    done = await _ok(
        await http.post(
            f"{url}/nominations/{rejected}/review",
            json={"decision": "rejected", "reason": "材料不全"},
            headers=cadre,
        )
    )
    assert done["status"] == "rejected" and done["reason"] == "材料不全"
    jump = await http.post(f"{url}/phase", json={"to": "publicity"}, headers=cadre)
    assert jump.status_code == 409 and jump.json()["code"] == "campaign.invalid_transition"
    assert "征集推荐" in jump.json()["title"] and jump.json()["current"] == "nominating"
    early = await http.post(
        f"{url}/categories/c1/votes", json={"candidates": nids[:1]}, headers=kit.member(people[6])
    )
    assert early.status_code == 409 and early.json()["code"] == "vote.closed"
    await _ok(await http.post(f"{url}/phase", json={"to": "reviewing"}, headers=cadre))
    past = await http.post(
        f"{url}/phase",
        json={"to": "voting", "voting_closes_at": "2020-01-01T00:00:00+08:00"},
        headers=cadre,
    )
    assert past.status_code == 409
    await _ok(
        await http.post(
            f"{url}/phase", json={"to": "voting", "voting_closes_at": kit.later(1)}, headers=cadre
        )
    )
    await kit.settled(stack, *TOPICS)

    # Votes: members see the candidates, not the votes; a rejected one is no candidate.
    voters = people[5:8] + people[:3]
    seen = await _ok(await http.get(url, headers=kit.member(voters[0])))
    assert sorted(c["id"] for c in seen["candidates"]) == sorted(nids)
    assert {c["votes"] for c in seen["candidates"]} == {None}
    assert seen["next_phases"] == ["publicity"]
    not_candidate = await http.post(
        f"{url}/categories/c1/votes", json={"candidates": [rejected]}, headers=kit.member(voters[0])
    )
    assert (
        not_candidate.status_code == 409 and not_candidate.json()["code"] == "vote.not_a_candidate"
    )
    four = await http.post(
        f"{url}/categories/c1/votes", json={"candidates": nids}, headers=kit.member(voters[0])
    )
    assert four.status_code == 409 and four.json()["code"] == "vote.too_many"
    cast = 0
    for i, voter in enumerate(voters):
        answer = await _ok(
            await http.post(
                f"{url}/categories/c1/votes",
                json={"candidates": nids[i % 2 : i % 2 + 2]},
                headers=kit.member(voter),
            )
        )
        cast += list(answer["results"].values()).count("cast")
    assert cast == 12
    mine = await _ok(await http.get(url, headers=kit.member(voters[0])))
    assert mine["my_votes"][0] == {
        "category_id": "c1",
        "used": 2,
        "limit": 3,
        "candidates": sorted(nids[0:2]),
    }
    as_cadre = await _ok(await http.get(url, headers=cadre))
    tally = {c["id"]: c["votes"] for c in as_cadre["candidates"]}
    assert sum(tally.values()) == cast and tally[nids[1]] == 6

    # The publicity closes the vote: a vote after the close is refused.
    today = local_today().isoformat()
    publicity = {"to": "publicity", "publicity_from": today, "publicity_until": today}
    moved = await _ok(await http.post(f"{url}/phase", json=publicity, headers=cadre))
    assert moved["phase"] == "publicity" and not moved["voting_open"]
    listed = [w["nomination_id"] for w in moved["listed"] if w["category_id"] == "c1"]
    assert listed[0] == nids[1] and len(listed) == 2
    late = await http.post(
        f"{url}/categories/c1/votes", json={"candidates": [nids[3]]}, headers=kit.member(voters[5])
    )
    assert late.status_code == 409 and late.json()["code"] == "vote.closed"
    public = await _ok(await http.get(url, headers=kit.member(voters[1])))
    assert sum(c["votes"] for c in public["candidates"]) == cast  # the tally is public now

    # An objection: not before the publicity's first day; raised by a member, the result
    # waits for it, upheld → the next moves up.
    days_on(monkeypatch, -1)
    early_objection = await http.post(
        f"{url}/objections",
        json={"nomination_id": listed[0], "reason": "事迹材料与实际不符"},
        headers=kit.member(voters[2]),
    )
    assert early_objection.status_code == 409
    assert early_objection.json()["code"] == "objection.too_early"
    assert f"公示期自 {today} 开始" in early_objection.json()["title"]
    monkeypatch.undo()
    raised = await _ok(
        await http.post(
            f"{url}/objections",
            json={"nomination_id": listed[0], "reason": "事迹材料与实际不符"},
            headers=kit.member(voters[2]),
        ),
        201,
    )
    assert raised["status"] == "open"
    unlisted = await http.post(
        f"{url}/objections",
        json={"nomination_id": rejected, "reason": "不符"},
        headers=kit.member(voters[2]),
    )
    assert unlisted.status_code == 422 and unlisted.json()["code"] == "nomination.not_found"
    await kit.settled(stack, *TOPICS)
    waiting = await http.post(f"{url}/phase", json={"to": "published"}, headers=cadre)
    assert waiting.status_code == 409 and waiting.json()["code"] == "campaign.objections_open"
    theirs = await _ok(await http.get(f"{url}/objections", headers=kit.member(voters[3])))
    assert theirs == []
    await _ok(
        await http.post(
            f"{url}/objections/{raised['id']}/resolve",
            json={"upheld": True, "answer": "经核实，异议成立"},
            headers=cadre,
        )
    )
    await kit.settled(stack, *TOPICS)
    # Members may object all through the last day: the result waits until it is over.
    last_day = await http.post(f"{url}/phase", json={"to": "published"}, headers=cadre)
    assert last_day.status_code == 409 and last_day.json()["code"] == "campaign.publicity_running"
    assert f"公示期至 {today}（含）结束" in last_day.json()["title"]
    days_on(monkeypatch, 1)
    too_late = await http.post(
        f"{url}/objections",
        json={"nomination_id": listed[1], "reason": "不符"},
        headers=kit.member(voters[3]),
    )
    assert too_late.status_code == 409 and too_late.json()["code"] == "objection.too_late"
    result = await _ok(await http.post(f"{url}/phase", json={"to": "published"}, headers=cadre))
    monkeypatch.undo()
    elected = [w["nomination_id"] for w in result["elected"] if w["category_id"] == "c1"]
    assert listed[0] not in elected and listed[1] in elected and len(elected) == 2

    form = await http.get(f"{url}/recommendation.xlsx", headers=cadre)
    assert form.status_code == 200
    sheet = load_workbook(io.BytesIO(form.content)).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("类别", "校区", "姓名") and len(rows) == 3

    events = await _events(stack)
    mine_events = [e for e in events if e["data"].get("campaign_id") == cid]
    types = {e["type"] for e in mine_events}
    assert {
        "events.campaign.phase_changed.v1",
        "events.campaign.result_published.v1",
        "events.nomination.nominated.v1",
        "events.nomination.reviewed.v1",
        "events.objection.raised.v1",
        "events.objection.resolved.v1",
    } <= types
    published = next(e for e in mine_events if e["type"].endswith("result_published.v1"))
    assert sorted(w["nomination_id"] for w in published["data"]["elected"]) == sorted(
        w["nomination_id"] for w in result["elected"]
    )


async def test_vote_limits_under_concurrency_and_no_voter_next_to_a_candidate(stack: Stack):
    http = stack.events_http
    run = uuid.uuid4().hex[:5]
    candidates = await kit.in_directory(stack, 5, f"CC{run}")
    voters = await kit.in_directory(stack, 24, f"CV{run}")
    cid, nids = await _shortlisted_campaign(stack, candidates)
    url = f"/commendations/{cid}/categories/c1/votes"

    # One voter, 20 requests at once, one candidate each (each candidate 4 times): three
    # votes land, on three different candidates.
    burst = [nids[i % 5] for i in range(20)]
    answers = await asyncio.gather(
        *(http.post(url, json={"candidates": [n]}, headers=kit.member(voters[0])) for n in burst)
    )
    accepted = [
        r for r in answers if r.status_code == 200 and "cast" in r.json()["results"].values()
    ]
    assert len(accepted) == 3
    assert {r.status_code for r in answers} <= {200, 409}
    codes = {r.json()["code"] for r in answers if r.status_code == 409}
    assert codes <= {"vote.limit", "vote.again"}
    campaign = await _ok(await http.get(f"/commendations/{cid}", headers=kit.member(voters[0])))
    assert campaign["my_votes"][0]["used"] == 3 and len(campaign["my_votes"][0]["candidates"]) == 3

    # Many voters at once, each sending their choice twice: the tally equals the votes cast.
    rng = random.Random(7)
    choices = {v: rng.sample(nids, 3) for v in voters[1:]}
    requests = [(v, c) for v, chosen in choices.items() for c in chosen for _ in range(2)]
    rng.shuffle(requests)
    gate = asyncio.Semaphore(24)

    async def one(voter: str, nid: str):
        async with gate:
            return await http.post(url, json={"candidates": [nid]}, headers=kit.member(voter))

    results = await asyncio.gather(*(one(v, c) for v, c in requests))
    cast = sum(
        1
        for r in results
        if r.status_code == 200
        and r.json()["results"] != {}
        and "cast" in r.json()["results"].values()
    )
    assert cast == 3 * len(choices)
    expected = {n: 0 for n in nids}
    for r in accepted:
        for n, a in r.json()["results"].items():
            expected[n] += a == "cast"
    for chosen in choices.values():
        for n in chosen:
            expected[n] += 1
    as_cadre = await _ok(await http.get(f"/commendations/{cid}", headers=kit.cadre()))
    assert {c["id"]: c["votes"] for c in as_cadre["candidates"]} == expected

    # Nothing in the database keeps a voter next to a candidate: every collection searched.
    db = stack.events.db
    assert await db[BALLOTS].count_documents({"campaign": cid}) == sum(expected.values())
    for name in await db.list_collection_names():
        async for doc in db[name].find({}):
            text = json.dumps(doc, default=str)
            holding = [v for v in voters if v in text]
            if holding:
                assert not any(n in text for n in nids), (name, doc)
    for name in (BALLOTS, SLOTS):
        async for doc in db[name].find({}):
            text = json.dumps(doc, default=str)
            assert not any(v in text for v in voters)
            assert "claimed_at" not in doc or name == SLOTS
    # … and no event tells of a vote.
    events = await _events(stack)
    assert not [e for e in events if any(v in json.dumps(e) for v in voters)]


async def test_a_member_nominates_a_colleague_by_staff_number(stack: Stack):
    """What a teacher knows of a colleague is the 工号, typed on a phone as it comes; someone on
    a campus the campaign does not cover is answered as nobody (no list of who works where)."""
    http, run = stack.events_http, uuid.uuid4().hex[:5].upper()
    me, colleague, third = await kit.in_directory(stack, 3, f"SN{run}")
    [far] = await kit.in_directory(stack, 1, f"SF{run}", campus="north")
    made = await _ok(await http.post("/commendations", json=_campaign(), headers=kit.cadre()), 201)
    url = f"/commendations/{made['id']}/nominations"

    def by_staff_no(staff_no: str, **more: Any):
        body = {"category_id": "c1", "staff_no": staff_no, "reasons": "教书育人", **more}
        return http.post(url, json=body, headers=kit.member(me))

    typed = "".join(chr(ord(c) + 0xFEE0) for c in f"sn{run.lower()}00001")  # ｓｎ…００００１
    done = await _ok(await by_staff_no(f" {typed} "), 201)  # full width, lower case, spaces
    assert (done["member_id"], done["by_kind"]) == (colleague, "member")

    for unknown in (f"SN{run}99999", f"SF{run}00000"):  # nobody; a member of north
        refused = await by_staff_no(unknown)
        assert refused.status_code == 422, refused.text
        assert refused.json()["code"] == "member.not_found"
        assert unknown in refused.json()["title"]
    both = await _ok(await by_staff_no(f"SN{run}99999", member_id=third), 201)
    assert both["member_id"] == third  # the member id, when given, names the nominee
    alone = {"category_id": "c1", "reasons": "自荐"}  # neither: oneself
    mine = await _ok(await http.post(url, json=alone, headers=kit.member(me)), 201)
    assert (mine["member_id"], mine["by_kind"]) == (me, "self")
    listed = await _ok(await http.get(url, headers=kit.cadre()))
    assert far not in {n["member_id"] for n in listed}


# -- a vote in flight when the vote closes ---------------------------------------------------

ALL_LISTED = _campaign(  # every candidate is on the 公示 list, with their votes
    categories=[
        {
            "name": "师德标兵",
            "kind": "teacher_ethics",
            "quotas": [{"campus": "main", "count": 3}],
            "votes_per_voter": 2,
        }
    ]
)


def _publicity() -> dict:
    today = local_today().isoformat()
    return {"to": "publicity", "publicity_from": today, "publicity_until": today}


def _votes(campaign: dict) -> dict[str, int]:
    return {c["id"]: c["votes"] for c in campaign["candidates"]}


def _listed(campaign: dict) -> dict[str, int]:
    return {w["nomination_id"]: w["votes"] for w in campaign["listed"]}


def _counted(answers: list, nids: list[str]) -> dict[str, int]:
    """Votes per candidate that the answers say went in: "cast" in a 200, nothing else."""
    counted = dict.fromkeys(nids, 0)
    for r in answers:
        assert r.status_code in (200, 409), r.text
        if r.status_code == 200:
            for nid, outcome in r.json()["results"].items():
                counted[nid] += outcome == "cast"
        else:
            assert r.json()["code"] in ("vote.closed", "vote.again", "vote.limit"), r.text
    return counted


async def test_a_vote_in_flight_at_the_close_is_in_the_list_or_withdrawn(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
):
    """Both sides of the close, in order by hand (gates on the real server): a ballot the
    close has read counts though its voter then sees the close; a ballot that lands after the
    close's read is withdrawn and answered 409 vote.closed. The 公示 list, the public tally
    and the published result then agree."""
    http, cadre = stack.events_http, kit.cadre()
    run = uuid.uuid4().hex[:5]
    candidates = await kit.in_directory(stack, 3, f"CG{run}")
    early, read, late = await kit.in_directory(stack, 3, f"VG{run}")
    cid, nids = await _shortlisted_campaign(stack, candidates, ALL_LISTED)
    url = f"/commendations/{cid}"

    def vote(voter: str, nid: str):
        body = {"candidates": [nid]}
        return http.post(f"{url}/categories/c1/votes", json=body, headers=kit.member(voter))

    assert (await _ok(await vote(early, nids[0])))["results"] == {nids[0]: "cast"}

    ballot_in, at_box, go = asyncio.Event(), asyncio.Event(), asyncio.Event()
    checking, casting = BallotBox._withdraw_if_closed, BallotBox.cast

    async def check_when_let(box, campaign, *args):  # `read`: ballot in, close not looked for
        if campaign == cid and not ballot_in.is_set():
            ballot_in.set()
            await go.wait()
        return await checking(box, campaign, *args)

    async def cast_when_let(box, campaign, category, voter, *args):  # `late`: phase read only
        if voter == late:
            at_box.set()
            await go.wait()
        return await casting(box, campaign, category, voter, *args)

    monkeypatch.setattr(BallotBox, "_withdraw_if_closed", check_when_let)
    monkeypatch.setattr(BallotBox, "cast", cast_when_let)
    counted_vote = asyncio.create_task(vote(read, nids[1]))
    await asyncio.wait_for(ballot_in.wait(), 30)
    withdrawn_vote = asyncio.create_task(vote(late, nids[1]))
    await asyncio.wait_for(at_box.wait(), 30)
    closed = await _ok(await http.post(f"{url}/phase", json=_publicity(), headers=cadre))
    go.set()
    counted, withdrawn = await counted_vote, await withdrawn_vote
    monkeypatch.undo()

    assert counted.status_code == 200, counted.text
    assert counted.json()["results"] == {nids[1]: "cast"}
    assert withdrawn.status_code == 409, withdrawn.text
    assert withdrawn.json()["code"] == "vote.closed"
    assert withdrawn.json()["title"] == "投票已截止，本次投票未计入"
    expected = {nids[0]: 1, nids[1]: 1, nids[2]: 0}
    assert _listed(closed) == expected
    public = await _ok(await http.get(url, headers=kit.member(late)))
    assert _votes(public) == expected == _listed(public)
    assert public["my_votes"][0]["used"] == 0 and public["my_votes"][0]["candidates"] == []
    theirs = await _ok(await http.get(url, headers=kit.member(read)))
    assert theirs["my_votes"][0]["candidates"] == [nids[1]]
    db = stack.events.db
    assert await db[BALLOTS].count_documents({"campaign": cid}) == 2  # the withdrawn one: gone
    again = await http.post(f"{url}/phase", json=_publicity(), headers=cadre)
    assert again.status_code == 409 and again.json()["code"] == "campaign.invalid_transition"

    days_on(monkeypatch, 1)
    result = await _ok(await http.post(f"{url}/phase", json={"to": "published"}, headers=cadre))
    monkeypatch.undo()
    assert {w["nomination_id"]: w["votes"] for w in result["elected"]} == expected


async def test_votes_racing_an_early_close_are_counted_as_answered(stack: Stack):
    """Rounds of many votes at once and an early close landing among them (two cadres pressing
    公示 together): every vote answered 200 is in the 公示 list and the tally, none answered
    409 is, and the two agree.
    The close's delay follows the window (later when every vote was late, sooner when none
    was), so the rounds land in it on a fast machine as on a loaded one."""
    http, cadre = stack.events_http, kit.cadre()
    run = uuid.uuid4().hex[:5]
    candidates = await kit.in_directory(stack, 3, f"CR{run}")
    voters = await kit.in_directory(stack, 10, f"VR{run}")
    made = await asyncio.gather(
        *(_shortlisted_campaign(stack, candidates, ALL_LISTED, settle=False) for _ in range(10))
    )
    await kit.settled(stack, *TOPICS)
    rng, delay = random.Random(16), 0.15
    seen = {"counted": 0, "withdrawn": 0}
    for cid, nids in made:
        url = f"/commendations/{cid}"

        async def vote(voter: str, chosen: list[str], url: str = url):
            await asyncio.sleep(rng.uniform(0, 0.3))
            body = {"candidates": chosen}
            return await http.post(
                f"{url}/categories/c1/votes", json=body, headers=kit.member(voter)
            )

        async def close(url: str = url, delay: float = delay):
            await asyncio.sleep(delay)
            return await http.post(f"{url}/phase", json=_publicity(), headers=cadre)

        *answers, one, other = await asyncio.gather(
            *(vote(v, rng.sample(nids, rng.choice((1, 2)))) for v in voters), close(), close()
        )
        counted = _counted(answers, nids)
        [closed] = [r for r in (one, other) if r.status_code == 200]  # two cadres, one move
        assert {one.status_code, other.status_code} == {200, 409}
        assert _listed(closed.json()) == counted, (cid, [r.text for r in answers])
        public = await _ok(await http.get(url, headers=kit.member(voters[0])))
        assert _votes(public) == counted == _listed(public)
        db = stack.events.db
        assert await db[BALLOTS].count_documents({"campaign": cid}) == sum(counted.values())
        late = sum(r.json().get("title") == "投票已截止，本次投票未计入" for r in answers)
        seen["counted"] += sum(counted.values())
        seen["withdrawn"] += late
        delay = delay + 0.15 if not any(counted.values()) else delay / 2 if not late else delay
    assert seen["counted"] and seen["withdrawn"], seen  # both sides of the window were hit
