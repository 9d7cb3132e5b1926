"""The annual plan, the sports meet and the calendar feed on the real broker and database:
loading and copying once, who may read and change a plan, at most N entries per member under
a burst, results and standings published, and a feed that phones can parse."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from datetime import date, datetime
from pathlib import Path

import icalendar
import pytest
from jsonschema import Draft202012Validator, FormatChecker

from services.events.sports.store import ENTRIES
from shared.timeutil import SHANGHAI, local_today
from tests.integration import events_kit as kit
from tests.integration.conftest import Stack, stack_fixture
from tests.kafka_tools import read_all

pytestmark = pytest.mark.integration

SCHEMAS = Path(__file__).resolve().parents[2] / "docs" / "events" / "schemas"


stack = stack_fixture("events", scope="module")


def validate(event: dict) -> None:
    schema = json.loads((SCHEMAS / f"{event['type']}.json").read_text())
    Draft202012Validator(schema, format_checker=FormatChecker()).validate(event["data"])


async def published_events(stack: Stack, topic: str) -> list[dict]:
    await kit.settled(stack, topic)
    records = await read_all(stack.bootstrap, stack.topic(topic), timeout_ms=1000)
    events = [json.loads(r.value) for r in records]
    for event in events:
        validate(event)
    return events


# -- the annual plan --------------------------------------------------------------------------


async def test_the_2023_plan_loads_once_and_copies_into_the_next_year_once(stack: Stack):
    http, admin = stack.events_http, kit.admin()
    first = await http.post("/plans/source/2023", headers=admin)
    assert first.status_code == 201, first.text
    plan = first.json()
    assert plan["id"] == "pl-2023" and plan["campus"] == "*" and plan["items_total"] == 21
    assert all(i["overdue"] for i in plan["items"])  # 2023 is over and nothing was done
    march = next(m for m in plan["summary"] if m["month"] == 3)
    assert (march["overdue"], march["done"], march["upcoming"]) == (3, 0, 0)
    assert {i["months"] for i in plan["items"]} >= {"7-8月", "10月"}
    again = await http.post("/plans/source/2023", headers=admin)
    assert again.status_code == 200 and again.json()["version"] == plan["version"] == 1
    refused = await http.post("/plans/source/2023", headers=kit.cadre())
    assert refused.status_code == 403

    # The school-wide plan is read by every campus, changed by the school's cadres only.
    assert (await http.get("/plans/pl-2023", headers=kit.member("m-x", "east"))).status_code == 200
    cadre_copy = await http.post("/plans/pl-2023/copy", headers=kit.cadre())
    assert cadre_copy.status_code == 403

    copies = await asyncio.gather(
        *(http.post("/plans/pl-2023/copy", headers=admin) for _ in range(6))
    )
    assert sorted(c.status_code for c in copies) == [200] * 5 + [201]
    copy = copies[0].json()
    assert copy["id"] == "pl-2024" and copy["copied_from"] == "pl-2023"
    assert [(i["id"], i["months"], i["title"]) for i in copy["items"]] == [
        (i["id"], i["months"], i["title"]) for i in plan["items"]
    ]
    assert (await stack.events.context.plans.store.history("pl-2024"))[-1].version == 1

    events = await published_events(stack, "events.plan")
    created = [e for e in events if e["type"] == "events.plan.created.v1"]
    assert sorted(e["subject"] for e in created) == ["pl-2023", "pl-2024"]
    added = Counter(e["subject"] for e in events if e["type"] == "events.plan.item_added.v1")
    assert added == {"pl-2023": 21, "pl-2024": 21}


async def test_a_campus_plan_its_readers_editors_statuses_and_links(stack: Stack):
    http, cadre = stack.events_http, kit.cadre()
    year = local_today().year
    body = {"year": year, "campus": "main"}
    created = await http.post("/plans", json=body, headers=cadre)
    assert created.status_code == 201, created.text
    plan_id = created.json()["id"]
    assert plan_id == f"pl-{year}-main"
    assert (await http.post("/plans", json=body, headers=cadre)).status_code == 409
    other = await http.post("/plans", json=body, headers=kit.cadre("east"))
    assert other.status_code == 403

    item = {"month_from": 1, "title": "元旦新春慰问走访", "owner": "工会办公室"}
    added = await http.post(f"/plans/{plan_id}/items", json=item, headers=cadre)
    assert added.status_code == 201, added.text
    item_id = added.json()["id"]
    assert added.json()["overdue"] is (local_today().month > 1)
    url = f"/plans/{plan_id}/items/{item_id}"

    as_member = await http.post(f"{url}/status", json={"status": "done"}, headers=kit.member("m-1"))
    assert as_member.status_code == 403
    moves = await asyncio.gather(
        *(http.post(f"{url}/status", json={"status": "done"}, headers=cadre) for _ in range(8))
    )
    assert {m.status_code for m in moves} == {200}
    assert moves[0].json()["status"] == "done" and moves[0].json()["overdue"] is False
    history = await stack.events.context.plans.store.history(plan_id)
    assert [c.action for c in history] == ["create", "add_item", "item_done"]
    assert history[-1].events == ["events.plan.item_status_changed.v1"]
    wrong = await http.post(f"{url}/status", json={"status": "cancelled"}, headers=cadre)
    assert wrong.status_code == 409 and wrong.json()["code"] == "plan.invalid_transition"
    months = await http.patch(url, json={"month_from": 3, "month_to": 2}, headers=cadre)
    assert months.status_code == 409 and months.json()["code"] == "plan.invalid_months"

    ours = await kit.activity(stack, title="新春慰问")
    school = await kit.activity(stack, title="全校团拜会", campus="*")
    theirs = await kit.activity(stack, title="东校区慰问", campus="east")
    link = f"{url}/links"
    for target in (ours, school):
        linked = await http.post(link, json={"kind": "activity", "id": target["id"]}, headers=cadre)
        assert linked.status_code == 200, linked.text
    east = await http.post(link, json={"kind": "activity", "id": theirs["id"]}, headers=kit.admin())
    assert east.status_code == 409  # not in the campus plan's scope, even for an admin
    assert east.json()["code"] == "plan.link_unknown_activity"
    unknown = await http.post(
        link, json={"kind": "activity", "id": "a-000000000000"}, headers=cadre
    )
    assert unknown.status_code == 409 and unknown.json()["id"] == "a-000000000000"
    survey = await http.post(link, json={"kind": "survey", "id": "s-summer-2026"}, headers=cadre)
    assert [x["id"] for x in survey.json()["links"]] == [ours["id"], school["id"], "s-summer-2026"]
    dropped = await http.delete(f"{link}/activity/{school['id']}", headers=cadre)
    assert [x["id"] for x in dropped.json()["links"]] == [ours["id"], "s-summer-2026"]

    assert (
        await http.get(f"/plans/{plan_id}", headers=kit.member("m-2", "east"))
    ).status_code == 404
    view = await http.get(f"/plans/{plan_id}", headers=kit.member("m-1"))
    assert view.status_code == 200 and view.json()["items"][0]["status_label"] == "已完成"
    await kit.settled(stack, "events.plan")
    listed = await http.get("/plans", params={"year": year}, headers=kit.member("m-2", "east"))
    assert plan_id not in {p["id"] for p in listed.json()["items"]}
    mine = await http.get("/plans", params={"year": year}, headers=kit.member("m-1"))
    assert plan_id in {p["id"] for p in mine.json()["items"]}


async def test_nothing_to_do_on_a_view_that_is_behind_is_asked_of_the_log(stack: Stack):
    """`AggregateStore.change` decides first on the list view; an answer of "nothing to do"
    there (an unlink of a link the view does not have yet) must be checked on the change log,
    else the request answers the stale state and the link stays."""
    http, cadre = stack.events_http, kit.cadre("west")
    created = await http.post("/plans", json={"year": 2031, "campus": "west"}, headers=cadre)
    plan_id = created.json()["id"]
    url = f"/plans/{plan_id}/items"
    item = (await http.post(url, json={"month_from": 5, "title": "端午"}, headers=cadre)).json()
    await kit.settled(stack, "events.plan")
    view = stack.events.db["plans"]
    behind = await view.find_one({"_id": plan_id})
    link = {"kind": "welfare_plan", "id": "wp-2031-duanwu"}
    linked = await http.post(f"{url}/{item['id']}/links", json=link, headers=cadre)
    assert linked.json()["links"] == [link]
    await kit.settled(stack, "events.plan")
    await view.replace_one({"_id": plan_id}, behind)  # as if the view had not caught up yet
    dropped = await http.delete(
        f"{url}/{item['id']}/links/welfare_plan/wp-2031-duanwu", headers=cadre
    )
    assert dropped.status_code == 200 and dropped.json()["links"] == []
    assert (await stack.events.context.plans.store.history(plan_id))[-1].action == "unlink"


# -- the sports meet --------------------------------------------------------------------------


async def sports_meet(stack: Stack, max_entries: int, items: list[dict], **over) -> str:
    meet = await kit.activity(stack, kind="sports_meet", title="教职工趣味运动会", **over)
    body = {"max_entries": max_entries, "points": [7, 5, 3, 2, 1], "items": items}
    campus = over.get("campus", "main")
    response = await stack.events_http.post(
        f"/activities/{meet['id']}/meet", json=body, headers=kit.cadre(campus)
    )
    assert response.status_code == 201, response.text
    return meet["id"]


async def test_a_member_enters_at_most_n_items_under_a_burst(stack: Stack):
    names = ["托球跑", "袋鼠跳", "夹球跑", "投篮", "跳绳", "踢毽子"]
    meet = await sports_meet(stack, 3, [{"name": n} for n in names])
    members = await kit.in_directory(stack, 20, "SPB")
    items = [f"e{i}" for i in range(1, 7)]

    async def enter(member: str, item: str):
        return await stack.events_http.post(
            f"/activities/{meet}/meet/items/{item}/entries", json={}, headers=kit.member(member)
        )

    # 20 members × 6 items × twice = 240 requests at once for 60 places.
    answers = await asyncio.gather(*(enter(m, i) for m in members for i in items for _ in (1, 2)))
    assert {a.status_code for a in answers} <= {201, 409}
    assert all(a.json()["code"] == "meet.entries_full" for a in answers if a.status_code == 409)
    entries = await stack.events.db[ENTRIES].find({"meet": meet}).to_list()
    per_member = Counter(e["member_id"] for e in entries)
    assert per_member == {m: 3 for m in members}
    assert len({(e["member_id"], e["item"]) for e in entries}) == len(entries) == 60
    # Twice is once: every 201 of a member names one of their three items.
    for member in members:
        won = {
            a.json()["item_id"]
            for a in answers
            if a.status_code == 201 and a.json()["member_id"] == member
        }
        assert won == {e["item"] for e in entries if e["member_id"] == member}

    one = members[0]
    mine = [e["item"] for e in entries if e["member_id"] == one]
    full = await enter(one, next(i for i in items if i not in mine))
    assert full.status_code == 409 and full.json()["code"] == "meet.entries_full"
    withdrawn = await stack.events_http.delete(
        f"/activities/{meet}/meet/items/{mine[0]}/entries/{one}", headers=kit.member(one)
    )
    assert withdrawn.status_code == 204
    assert (await enter(one, next(i for i in items if i not in mine))).status_code == 201


async def test_results_give_team_standings_published_to_every_member(stack: Stack):
    meet = await sports_meet(
        stack,
        2,
        [{"name": "托球跑", "measure": "time"}, {"name": "迎面接力", "kind": "relay"}],
    )
    art = await kit.in_directory(stack, 2, "SPA", department="艺术系")
    music = await kit.in_directory(stack, 2, "SPM", department="音乐系")
    for member in art + music:
        for item in ("e1", "e2"):
            response = await stack.events_http.post(
                f"/activities/{meet}/meet/items/{item}/entries",
                json={},
                headers=kit.member(member),
            )
            assert response.status_code == 201, response.text
    cadre = kit.cadre()
    base = f"/activities/{meet}/meet"
    times = {art[0]: 12.8, music[0]: 11.9, art[1]: 13.4, music[1]: 12.8}
    individual = [{"member_id": m, "value": t} for m, t in times.items()]
    put = await stack.events_http.put(
        f"{base}/items/e1/results", json={"results": individual}, headers=cadre
    )
    assert put.status_code == 200, put.text
    ranks = {r["member_id"]: r["rank"] for r in put.json()["results"]["e1"]}
    assert ranks == {music[0]: 1, art[0]: 2, music[1]: 2, art[1]: 4}
    relay = [{"team": "艺术系", "value": 58.2}, {"team": "音乐系", "value": 61.0}]
    put = await stack.events_http.put(
        f"{base}/items/e2/results", json={"results": relay}, headers=cadre
    )
    assert put.status_code == 200, put.text
    stranger = [{"team": "后勤处", "value": 50}]
    refused = await stack.events_http.put(
        f"{base}/items/e2/results", json={"results": stranger}, headers=cadre
    )
    assert refused.status_code == 409 and refused.json()["code"] == "meet.not_entered"

    before = await stack.events_http.get(base, headers=kit.member(art[0]))
    assert before.json()["results"] == {} and before.json()["standings"] == []
    assert before.json()["my_entries"] == ["e1", "e2"]
    assert (
        await stack.events_http.post(f"{base}/publish", headers=kit.member(art[0]))
    ).status_code == 403
    published = await stack.events_http.post(f"{base}/publish", headers=cadre)
    assert published.status_code == 200, published.text
    after = (await stack.events_http.get(base, headers=kit.member(music[1]))).json()
    # 艺术系: 5 (2nd) + 2 (4th) + 7 (relay) = 14; 音乐系: 7 + 5 + 5 (relay 2nd) = 17
    assert [(s["team"], s["points"]) for s in after["standings"]] == [
        ("音乐系", 17),
        ("艺术系", 14),
    ]
    assert after["published_revision"] == 1 and after["items"][0]["entries"] is None
    assert (await stack.events_http.get(base, headers=kit.member("m-x", "east"))).status_code == 404

    events = await published_events(stack, "events.sports")
    mine = [e for e in events if e["subject"] == meet]
    assert [e["type"] for e in mine] == [
        "events.sports.meet_set_up.v1",
        "events.sports.results_recorded.v1",
        "events.sports.results_recorded.v1",
        "events.sports.results_published.v1",
    ]
    assert mine[-1]["data"]["standings"][0] == {
        "rank": 1,
        "team": "音乐系",
        "points": 17,
        "firsts": 1,
    }


# -- the calendar feed ------------------------------------------------------------------------


async def test_the_calendar_feed_shows_local_times_moves_and_cancellations(stack: Stack):
    http = stack.events_http
    day = date(local_today().year + 1, 3, 20)
    lecture = await kit.activity(
        stack, title="日历讲座", starts_at=f"{day}T15:00", ends_at=f"{day}T16:30"
    )
    outing = await kit.activity(
        stack, title="日历踏青", starts_at=f"{day}T08:30", ends_at=f"{day}T16:30"
    )
    draft = await kit.activity(stack, title="日历草稿", publish=False)
    year = local_today().year
    await http.post("/plans", json={"year": year, "campus": "main"}, headers=kit.cadre())
    summer_item = await http.post(
        f"/plans/pl-{year}-main/items",
        json={"month_from": 7, "month_to": 8, "title": "日历里的暑期工作"},
        headers=kit.cadre(),
    )
    assert summer_item.status_code == 201, summer_item.text

    assert (await http.get("/calendar/main/feed", headers=kit.member("m-1"))).status_code == 403
    assert (await http.get("/calendar/main/feed", headers=kit.cadre("east"))).status_code == 403
    link = await http.get("/calendar/main/feed", headers=kit.cadre())
    assert link.status_code == 200, link.text
    path = link.json()["url"].removeprefix("http://events")
    assert link.json()["webcal"].startswith("webcal://")
    east_path = (await http.get("/calendar/east/feed", headers=kit.admin())).json()["url"]

    async def feed() -> dict[str, icalendar.Event]:
        await kit.settled(stack, "events.plan")
        response = await http.get(path)  # no token in a header: the URL is the credential
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/calendar")
        cal = icalendar.Calendar.from_ical(response.content)
        assert [tz.get("tzid") for tz in cal.walk("VTIMEZONE")] == ["Asia/Shanghai"]
        return {str(e.get("uid")).split("@")[0]: e for e in cal.events}

    events = await feed()
    shown = events[lecture["id"]]
    start = shown.decoded("dtstart")
    assert start.tzinfo is not None and start.astimezone(SHANGHAI).replace(tzinfo=None) == (
        datetime(day.year, 3, 20, 15, 0)
    )
    assert str(shown.get("status")) == "CONFIRMED" and str(shown.get("location")) == "图书馆报告厅"
    assert draft["id"] not in events
    summer = events[f"pl-{year}-main-{summer_item.json()['id']}"]
    assert (summer.decoded("dtstart"), summer.decoded("dtend")) == (
        date(year, 7, 1),
        date(year, 9, 1),
    )

    moved = await http.patch(
        f"/activities/{lecture['id']}",
        json={"starts_at": f"{day}T19:00", "ends_at": f"{day}T20:30"},
        headers=kit.cadre(),
    )
    assert moved.status_code == 200, moved.text
    cancelled = await http.post(
        f"/activities/{outing['id']}/cancel", json={"reason": "天气原因"}, headers=kit.cadre()
    )
    assert cancelled.status_code == 200, cancelled.text
    later = await feed()
    again = later[lecture["id"]]
    assert again.decoded("dtstart").astimezone(SHANGHAI).hour == 19
    assert int(again.get("sequence")) > int(shown.get("sequence"))
    assert str(later[outing["id"]].get("status")) == "CANCELLED"
    assert str(again.get("uid")) == str(shown.get("uid"))

    wrong = await http.get(path.replace(path[-10:-4], "000000"))
    assert wrong.status_code == 404
    east_token = east_path.rsplit("/", 1)[1]
    assert (await http.get(f"/calendar/main/{east_token}")).status_code == 404
