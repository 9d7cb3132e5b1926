"""Surveys on the real broker and database: one answer per member when the same member
answers twice at once (named and anonymous), a named answer changed once under a race,
nothing anywhere linking an anonymous answer to its member (every collection, the logs,
every event, and not even the order the rows were written in: the answers wait sealed until
the close and come out shuffled, moved once by flushes at once), an anonymous survey's answers
withheld from the results and exports until it closes, the audience rule, the clock job run
by two runtimes, and events that validate against the catalog."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator, FormatChecker
from openpyxl import load_workbook

from services.events.surveys.handlers import keep_time
from services.events.surveys.store import ANSWERS, MARKS, PENDING, one_way
from shared.aggregate import Actor
from shared.scheduler import JobRun
from shared.timeutil import utcnow
from tests.integration import events_kit as kit
from tests.integration.conftest import Stack, stack_fixture
from tests.kafka_tools import read_all

pytestmark = pytest.mark.integration

SCHEMAS = Path(__file__).resolve().parents[2] / "docs" / "events" / "schemas"
stack = stack_fixture("events", scope="module")
RUN = uuid.uuid4().hex[:6]


def _at(minutes: float) -> str:
    return (utcnow() + timedelta(minutes=minutes)).isoformat()


def questions() -> list[dict[str, Any]]:
    return [
        {"kind": "single", "title": "暑期活动形式", "options": ["旅游", "运动", "读书会"]},
        {
            "kind": "multiple",
            "title": "希望的时间",
            "options": ["7月上旬", "7月下旬", "8月上旬", "8月下旬"],
            "min_choices": 1,
            "max_choices": 2,
        },
        {"kind": "rating", "title": "去年活动满意度", "scale": 5},
        {"kind": "ranking", "title": "地点排序", "options": ["苏州", "杭州", "南京"]},
        {"kind": "text", "title": "其他建议", "required": False},
    ]


async def survey(stack: Stack, anonymous: bool, **over: Any) -> dict[str, Any]:
    body = {
        "title": "暑期教工活动意见征集",
        "campus": "main",
        "anonymous": anonymous,
        "opens_at": _at(-1),
        "closes_at": _at(60 * 24 * 7),
        "questions": questions(),
        **over,
    }
    made = await stack.events_http.post("/surveys", json=body, headers=kit.cadre())
    assert made.status_code == 201, made.text
    url = f"/surveys/{made.json()['id']}/publish"
    published = await stack.events_http.post(url, headers=kit.cadre())
    assert published.status_code == 200, published.text
    assert published.json()["phase"] == "open"
    return published.json()


def answers(text: str = "", score: int = 4) -> dict[str, Any]:
    given: dict[str, Any] = {"q1": 0, "q2": [1, 2], "q3": score, "q4": [2, 0, 1]}
    if text:
        given["q5"] = text
    return given


@pytest.fixture(scope="module")
async def people(stack: Stack) -> list[str]:
    ids = await kit.in_directory(stack, 12, f"SV{RUN}", department="学前教育系")
    ids += await kit.in_directory(stack, 3, f"SW{RUN}", department="艺术系")
    return ids


async def _twice_at_once(stack: Stack, survey_id: str, member_id: str, text: str) -> list[int]:
    url = f"/surveys/{survey_id}/answers"
    headers = kit.member(member_id)
    calls = [
        stack.events_http.post(url, json={"answers": answers(text)}, headers=headers)
        for _ in range(8)
    ]
    return sorted(r.status_code for r in await asyncio.gather(*calls))


async def test_a_named_answer_is_one_answer_and_changes_once_under_a_race(
    stack: Stack, people: list[str]
):
    made = await survey(stack, anonymous=False, allow_change=True)
    me = people[0]
    assert await _twice_at_once(stack, made["id"], me, "named") == [201] + [409] * 7
    docs = await stack.events.db[ANSWERS].find({"survey": made["id"]}).to_list()
    assert len(docs) == 1 and docs[0]["member_id"] == me
    # Changes at once: those building on the same version race for the next one, one wins.
    url = f"/surveys/{made['id']}/answers/mine"
    changed = await asyncio.gather(
        *(
            stack.events_http.put(url, json={"answers": answers(score=s)}, headers=kit.member(me))
            for s in (1, 2, 3, 1, 2, 3)
        )
    )
    codes = [r.status_code for r in changed]
    assert set(codes) <= {200, 409} and 409 in codes
    assert all(
        r.json()["code"] == "answer.changed_meanwhile" for r in changed if r.status_code == 409
    )
    docs = await stack.events.db[ANSWERS].find({"survey": made["id"]}).to_list()
    assert sorted(d["version"] for d in docs) == list(range(1, codes.count(200) + 2))
    mine = (await stack.events_http.get(url, headers=kit.member(me))).json()
    assert mine["version"] == codes.count(200) + 1 and mine["answers"]["q3"] in (1, 2, 3)
    results = await stack.events_http.get(f"/surveys/{made['id']}/results", headers=kit.cadre())
    body = results.json()
    assert body["respondents"] == 1
    rating = next(q for q in body["questions"] if q["id"] == "q3")
    assert rating["average"] == mine["answers"]["q3"]


async def test_an_anonymous_answer_is_once_and_linked_to_no_one(
    stack: Stack, people: list[str], caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.DEBUG)
    made = await survey(stack, anonymous=True)
    secret_text = f"匿名意见-{uuid.uuid4().hex[:8]}"
    me = people[1]
    assert await _twice_at_once(stack, made["id"], me, secret_text) == [201] + [409] * 7
    for other in people[2:8]:
        url = f"/surveys/{made['id']}/answers"
        body = {"answers": answers(f"别人的意见{other}")}
        done = await stack.events_http.post(url, json=body, headers=kit.member(other))
        assert done.status_code == 201, done.text
    mine = await stack.events_http.get(
        f"/surveys/{made['id']}/answers/mine", headers=kit.member(me)
    )
    assert mine.json()["answered"] is True and mine.json()["answers"] is None

    db = stack.events.db
    assert await db[ANSWERS].count_documents({"survey": made["id"]}) == 0  # sealed until
    waiting = await db[PENDING].find({"survey": made["id"]}).to_list()
    assert len(waiting) == 7 and all(set(d) == {"_id", "survey", "sealed"} for d in waiting)
    assert await db[MARKS].count_documents({"survey": made["id"]}) == 7
    token = one_way(stack.events.settings.voice_secret.encode(), made["id"], me)

    def linked(text: str) -> bool:
        """An answer and its member (or their token) in one place."""
        return secret_text in text and (me in text or token in text)

    # Every document of every collection of the database.
    for name in await db.list_collection_names():
        async for doc in db[name].find({}):
            assert not linked(json.dumps(doc, default=str, ensure_ascii=False)), name
    # Every log line.
    for record in caplog.records:
        assert not linked(f"{record.getMessage()} {record.__dict__}"), record.getMessage()
    # Every event on every topic.
    await kit.settled(stack, "events.survey")
    for topic in ("events.survey", "events.plan", "events.activity", "events.suggestion"):
        for record in await read_all(stack.bootstrap, stack.topic(topic), timeout_ms=1000):
            text = record.value.decode() if record.value else ""
            assert secret_text not in text and token not in text

    # Results (out once it closes) still count the answer, and the small groups are merged.
    closed = await stack.events_http.post(f"/surveys/{made['id']}/close", headers=kit.cadre())
    assert closed.status_code == 200, closed.text
    got = await stack.events_http.get(f"/surveys/{made['id']}/results", headers=kit.cadre())
    body = got.json()
    assert body["respondents"] == 7
    stored = await db[ANSWERS].find({"survey": made["id"]}).to_list()
    assert len(stored) == 7 and all(set(d) == {"_id", "survey", "answers"} for d in stored)
    texts = next(q for q in body["questions"] if q["id"] == "q5")["texts"]
    assert secret_text in texts
    assert all(
        row["answered"] >= 5 or row["answered"] == 0 for row in body["turnout"]["departments"]
    )


async def test_an_open_anonymous_survey_shows_how_many_answered_and_all_once_closed(
    stack: Stack, people: list[str]
):
    made = await survey(stack, anonymous=True)
    results_url = f"/surveys/{made['id']}/results"
    secret_text = f"只在截止后可见-{uuid.uuid4().hex[:8]}"
    answering = people[2:8]  # six of 学前教育系: a department shown on its own (≥ 5)
    seen = []
    for n, member in enumerate(answering, start=1):
        text = secret_text if n == len(answering) else ""
        done = await stack.events_http.post(
            f"/surveys/{made['id']}/answers",
            json={"answers": answers(text, score=n % 5 + 1)},
            headers=kit.member(member),
        )
        assert done.status_code == 201, done.text
        # What a cadre polling after each answer sees: how many, never what.
        got = await stack.events_http.get(results_url, headers=kit.cadre())
        assert got.status_code == 200, got.text
        seen.append(got.json())
        assert secret_text not in got.text
    last = seen[-1]
    assert [r["respondents"] for r in seen] == [1, 2, 3, 4, 5, 6]
    assert all(r["withheld_until_close"] and r["questions"] == [] for r in seen)
    assert last["closes_at"] == last["survey"]["closes_at"]
    assert last["closes_at"][:16] == made["closes_at"][:16]
    assert last["turnout"]["answered"] == 6
    rows = {r["group"]: r["answered"] for r in last["turnout"]["departments"]}
    assert rows["main/学前教育系"] == 6
    # The exports withhold the same: one row saying when the results are out.
    csv = await stack.events_http.get(f"{results_url}.csv", headers=kit.cadre())
    assert csv.status_code == 200, csv.text
    lines = csv.content.decode("utf-8-sig").splitlines()
    assert len(lines) == 2 and "后公布，目前已有 6 人作答" in lines[1]
    assert "旅游" not in csv.text and secret_text not in csv.text
    xlsx = await stack.events_http.get(f"{results_url}.xlsx", headers=kit.cadre())
    assert xlsx.status_code == 200
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet is not None and sheet.max_row == 2
    assert "目前已有 6 人作答" in str(sheet.cell(2, 2).value)

    closed = await stack.events_http.post(f"/surveys/{made['id']}/close", headers=kit.cadre())
    assert closed.status_code == 200 and closed.json()["phase"] == "closed"
    got = (await stack.events_http.get(results_url, headers=kit.cadre())).json()
    assert got["withheld_until_close"] is False and got["respondents"] == 6
    single, _, rating, _, text = got["questions"]
    assert [o["count"] for o in single["options"]] == [6, 0, 0]
    assert sorted(d["count"] for d in rating["distribution"]) == [1, 1, 1, 1, 2]
    assert text["texts"] == [secret_text]
    csv = await stack.events_http.get(f"{results_url}.csv", headers=kit.cadre())
    assert secret_text in csv.content.decode("utf-8-sig") and "后公布" not in csv.text


async def test_anonymous_answers_wait_sealed_and_come_out_shuffled_at_the_close(stack: Stack):
    """On FerretDB/PostgreSQL rows written one after the other sit in that order: an answer
    written right after its mark would be paired with it. So while open the answers wait
    sealed, all of one size, with nothing but the survey; at the close they come out all at
    once, in another order than they were given."""
    made = await survey(stack, anonymous=True)
    url = f"/surveys/{made['id']}/answers"
    members = await kit.in_directory(stack, 20, f"SX{RUN}", department="音乐系")
    given = [
        answers("" if n % 4 == 3 else f"第{n:02d}份-{'长' * n}", score=n % 5 + 1)
        for n in range(len(members))
    ]
    for member, body in zip(members, given, strict=True):
        done = await stack.events_http.post(url, json={"answers": body}, headers=kit.member(member))
        assert done.status_code == 201, done.text

    db, book = stack.events.db, stack.events.context.surveys.book
    assert await db[ANSWERS].count_documents({"survey": made["id"]}) == 0
    waiting = await db[PENDING].find({"survey": made["id"]}).to_list()
    assert len(waiting) == 20 and all(set(d) == {"_id", "survey", "sealed"} for d in waiting)
    assert all(d["sealed"].startswith("gh2:") for d in waiting)
    assert len({len(d["sealed"]) for d in waiting}) == 1  # short and long answers alike
    dumped = json.dumps(waiting, default=str, ensure_ascii=False)
    assert not any(m in dumped for m in members)
    assert "音乐系" not in dumped and "第" not in dumped and "长" not in dumped
    # A flush while it is open moves nothing; how many answered is right all along.
    assert await book.flush(await book.store.get(made["id"])) == 0
    assert await db[PENDING].count_documents({"survey": made["id"]}) == 20
    results_url = f"/surveys/{made['id']}/results"
    got = (await stack.events_http.get(results_url, headers=kit.cadre())).json()
    assert got["respondents"] == 20 and got["questions"] == []

    closed = await stack.events_http.post(f"/surveys/{made['id']}/close", headers=kit.cadre())
    assert closed.status_code == 200, closed.text
    assert await db[PENDING].count_documents({"survey": made["id"]}) == 0
    stored = await db[ANSWERS].find({"survey": made["id"]}).to_list()  # natural order
    assert all(set(d) == {"_id", "survey", "answers"} for d in stored)
    assert {d["_id"] for d in stored}.isdisjoint(d["_id"] for d in waiting)
    assert sorted(json.dumps(d["answers"], sort_keys=True) for d in stored) == sorted(
        json.dumps(g, sort_keys=True) for g in given
    )
    # 20 answers in the order given by chance: 1 in 20! (2.4e18).
    order = [(d["answers"].get("q5", ""), d["answers"]["q3"]) for d in stored]
    assert order != [(g.get("q5", ""), g["q3"]) for g in given]
    got = (await stack.events_http.get(results_url, headers=kit.cadre())).json()
    assert got["withheld_until_close"] is False and got["respondents"] == 20
    _, _, rating, _, text = got["questions"]
    assert [d["count"] for d in rating["distribution"]] == [4, 4, 4, 4, 4]
    assert text["texts"] == sorted(g["q5"] for g in given if "q5" in g)
    late = await stack.events_http.post(
        url, json={"answers": answers()}, headers=kit.member(members[0])
    )
    assert late.status_code == 409 and late.json()["code"] == "survey.not_open"
    assert await db[PENDING].count_documents({"survey": made["id"]}) == 0


async def test_flushes_at_once_or_after_a_crash_move_each_answer_once(
    stack: Stack, people: list[str]
):
    made = await survey(stack, anonymous=True)
    answering = people[:9]
    for n, member in enumerate(answering):
        body = {"answers": answers(f"并发-{n}")}
        url = f"/surveys/{made['id']}/answers"
        done = await stack.events_http.post(url, json=body, headers=kit.member(member))
        assert done.status_code == 201, done.text
    db, book = stack.events.db, stack.events.context.surveys.book
    waiting = await db[PENDING].find({"survey": made["id"]}).to_list()
    assert len(waiting) == len(answering)
    # Closed behind the handler's back, so that nothing has flushed yet.
    now = utcnow()
    closed = await book.store.change(
        made["id"], lambda s: s.close(now, len(answering), early=True), Actor("system"), "close"
    )
    moved = await asyncio.gather(book.flush(closed), book.flush(closed), book.flush(closed))
    assert sum(moved) == len(answering)
    assert await db[ANSWERS].count_documents({"survey": made["id"]}) == len(answering)
    assert await db[PENDING].count_documents({"survey": made["id"]}) == 0
    # A flush that stopped after its inserts, before its deletes: the next one finishes.
    await db[PENDING].insert_many(waiting)
    assert await book.flush(closed) == 0
    assert await db[PENDING].count_documents({"survey": made["id"]}) == 0
    got = await stack.events_http.get(f"/surveys/{made['id']}/results", headers=kit.cadre())
    body = got.json()
    assert body["respondents"] == len(answering) == body["turnout"]["answered"]
    texts = next(q for q in body["questions"] if q["id"] == "q5")["texts"]
    assert texts == sorted(f"并发-{n}" for n in range(len(answering)))


async def test_who_is_not_asked_or_too_late_is_refused(stack: Stack, people: list[str]):
    made = await survey(stack, anonymous=False, audience={"departments": ["艺术系"]})
    url = f"/surveys/{made['id']}/answers"
    refused = await stack.events_http.post(
        url, json={"answers": answers()}, headers=kit.member(people[0])
    )
    assert refused.status_code == 422 and refused.json()["code"] == "survey.not_in_audience"
    artist = people[-1]
    wrong = await stack.events_http.post(
        url, json={"answers": {**answers(), "q2": [0, 1, 2]}}, headers=kit.member(artist)
    )
    assert wrong.status_code == 422 and wrong.json()["code"] == "answer.choices_count"
    closed = await stack.events_http.post(f"/surveys/{made['id']}/close", headers=kit.cadre())
    assert closed.status_code == 200 and closed.json()["phase"] == "closed"
    late = await stack.events_http.post(
        url, json={"answers": answers()}, headers=kit.member(artist)
    )
    assert late.status_code == 409 and late.json()["code"] == "survey.not_open"
    assert await stack.events.db[ANSWERS].count_documents({"survey": made["id"]}) == 0


async def test_the_clock_reminds_once_and_closes_with_two_runtimes(stack: Stack):
    made = await survey(stack, anonymous=True, closes_at=_at(120))
    surveys = stack.events.context.surveys
    await kit.settled(stack, "events.survey")  # the job reads the list view
    soon = JobRun("surveys.keep_time", "x", 1, utcnow())
    # Two runtimes running the job at the same moment: one reminder.
    await asyncio.gather(keep_time(surveys, soon), keep_time(surveys, soon))
    await keep_time(surveys, soon)
    after = JobRun("surveys.keep_time", "y", 1, utcnow() + timedelta(hours=3))
    await asyncio.gather(keep_time(surveys, after), keep_time(surveys, after))
    await kit.settled(stack, "events.survey")
    records = await read_all(stack.bootstrap, stack.topic("events.survey"), timeout_ms=1000)
    mine = [json.loads(r.value) for r in records if json.loads(r.value)["subject"] == made["id"]]
    types = [e["type"] for e in mine]
    assert types == [
        "events.survey.drafted.v1",
        "events.survey.published.v1",
        "events.survey.opened.v1",
        "events.survey.closing_soon.v1",
        "events.survey.closed.v1",
    ]
    for event in mine:
        schema = json.loads((SCHEMAS / f"{event['type']}.json").read_text())
        Draft202012Validator(schema, format_checker=FormatChecker()).validate(event["data"])
        assert "member_id" not in event["data"]


async def test_new_kinds_for_the_plans_activities(stack: Stack):
    """三八节插花 is a 文体活动, a 故事演讲 a 演讲征文, and what fits nowhere is 其他; each
    goes out in events that validate against the catalog."""
    made = []
    for kind, title in (("文体活动", "三八节插花"), ("speech", "师德故事演讲"), ("其他", "杂项")):
        body = {
            "kind": kind,
            "title": title,
            "campus": "main",
            "venue": "工会活动室",
            "starts_at": kit.later(9),
            "ends_at": kit.later(9, 2),
        }
        got = await stack.events_http.post("/activities", json=body, headers=kit.cadre())
        assert got.status_code == 201, got.text
        made.append(got.json())
    assert [(a["kind"], a["kind_label"]) for a in made] == [
        ("cultural_sports", "文体活动"),
        ("speech", "演讲征文"),
        ("other", "其他"),
    ]
    await kit.settled(stack)
    ids = {a["id"] for a in made}
    records = await read_all(stack.bootstrap, stack.topic("events.activity"), timeout_ms=1000)
    events = [json.loads(r.value) for r in records]
    mine = [e for e in events if e["subject"] in ids]
    assert len(mine) == 3
    for event in mine:
        schema = json.loads((SCHEMAS / f"{event['type']}.json").read_text())
        Draft202012Validator(schema, format_checker=FormatChecker()).validate(event["data"])


# -- the suggestion box -----------------------------------------------------------------------


async def test_an_anonymous_suggestion_is_answered_without_the_cadre_learning_who_wrote(
    stack: Stack, people: list[str], caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.DEBUG)
    writer, other = people[8], people[9]
    words = f"希望晚餐延长-{RUN}"
    body = {"title": "食堂晚餐", "body": words, "anonymous": True}
    made = await stack.events_http.post("/suggestions", json=body, headers=kit.member(writer))
    assert made.status_code == 201, made.text
    sid = made.json()["id"]
    assert made.json()["member_id"] is None and made.json()["mine"] is True
    seen = await stack.events_http.get(f"/suggestions/{sid}", headers=kit.cadre())
    assert seen.status_code == 200 and seen.json()["member_id"] is None
    assert writer not in seen.text
    fwd = {"department": "后勤处", "note": "请后勤处研究"}
    url = f"/suggestions/{sid}"
    assert (
        await stack.events_http.post(f"{url}/forward", json=fwd, headers=kit.cadre())
    ).is_success
    answer = {"text": "已与后勤处商定，下月起晚餐延长至19:00"}
    replied = await stack.events_http.post(f"{url}/reply", json=answer, headers=kit.cadre())
    assert replied.status_code == 200 and replied.json()["status"] == "replied"
    # The writer finds it, with the reply; another member does not.
    mine = await stack.events_http.get("/me/suggestions", headers=kit.member(writer))
    found = [s for s in mine.json() if s["id"] == sid]
    assert found and found[0]["replies"][0]["text"] == answer["text"]
    assert found[0]["forward_note"] == ""
    theirs = await stack.events_http.get("/me/suggestions", headers=kit.member(other))
    assert all(s["id"] != sid for s in theirs.json())
    assert (await stack.events_http.get(url, headers=kit.member(other))).status_code == 404
    # Nothing stored, logged or published names the writer next to the suggestion.
    await kit.settled(stack, "events.suggestion")
    db = stack.events.db
    for name in await db.list_collection_names():
        async for doc in db[name].find({}):
            text = json.dumps(doc, default=str, ensure_ascii=False)
            assert not (words in text and writer in text), name
    history = await stack.events.db["suggestions_changes"].find({"aggregate": sid}).to_list()
    assert history[0]["by"] == "anonymous" and history[0]["request"] is None
    for record in caplog.records:
        assert writer not in record.getMessage() or words not in record.getMessage()
    records = await read_all(stack.bootstrap, stack.topic("events.suggestion"), timeout_ms=1000)
    for record in records:
        event = json.loads(record.value)
        if event["subject"] == sid:
            assert event["data"]["member_id"] is None and writer not in record.value.decode()
            schema = json.loads((SCHEMAS / f"{event['type']}.json").read_text())
            Draft202012Validator(schema, format_checker=FormatChecker()).validate(event["data"])
