"""The sports meet's ranks and team standings, and the calendar feed, without I/O."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import icalendar
import pytest

from services.events.activities.domain import Activity, ActivityKind, ActivityStatus
from services.events.calendar.domain import ShownActivity, feed, feed_token, token_matches
from services.events.plans.domain import ItemStatus, ItemText, new_plan
from services.events.settings import DEV_CALENDAR_SECRET, EventsSettings
from services.events.sports.domain import (
    ChangeRules,
    ItemKind,
    Measure,
    NewItem,
    Result,
    ResultIn,
    SetUpMeet,
    ranked,
    set_up,
    standings,
)
from shared.errors import Conflict
from shared.events.events import SportsMeetSetUp, SportsResultsPublished

NOW = datetime(2026, 10, 20, 8, 0, tzinfo=UTC)
TEAMS = {"m1": "艺术系", "m2": "音乐系", "m3": "体育部", "m4": "艺术系"}


def rows(**values: float) -> list[ResultIn]:
    return [ResultIn(member_id=m, value=v) for m, v in values.items()]


def test_times_rank_fewest_seconds_first_and_ties_share_a_rank():
    results = ranked(Measure.time, rows(m1=12.5, m2=11.9, m3=12.5, m4=13.0), TEAMS)
    assert [(r.member_id, r.rank) for r in results] == [("m2", 1), ("m1", 2), ("m3", 2), ("m4", 4)]
    assert results[0].team == "音乐系"


def test_scores_rank_most_first_and_given_ranks_are_kept():
    results = ranked(Measure.score, rows(m1=30, m2=45, m3=45), TEAMS)
    assert [(r.member_id, r.rank) for r in results] == [("m2", 1), ("m3", 1), ("m1", 3)]
    relay = {"艺术系": "艺术系", "体育部": "体育部"}
    given = [ResultIn(team="体育部", rank=2), ResultIn(team="艺术系", rank=1)]
    assert [(r.team, r.rank) for r in ranked(Measure.rank, given, relay)] == [
        ("艺术系", 1),
        ("体育部", 2),
    ]


@pytest.mark.parametrize(
    ("measure", "given", "code"),
    [
        (Measure.time, [ResultIn(member_id="m9", value=1)], "meet.not_entered"),
        (Measure.time, [ResultIn(member_id="m1")], "meet.value_missing"),
        (Measure.rank, [ResultIn(member_id="m1", value=3)], "meet.rank_missing"),
        (Measure.time, [ResultIn(value=3)], "meet.result_without_entrant"),
        (Measure.time, rows(m1=1) + rows(m1=2), "meet.result_twice"),
    ],
)
def test_results_that_cannot_be_ranked_are_refused(measure, given, code):
    with pytest.raises(Conflict) as refused:
        ranked(measure, given, TEAMS)
    assert refused.value.code == code


def test_team_standings_by_the_points_table():
    results = {
        "e1": [
            Result(rank=1, team="艺术系", member_id="m1"),
            Result(rank=2, team="音乐系", member_id="m2"),
            Result(rank=2, team="体育部", member_id="m3"),  # a tie scores its rank's points
            Result(rank=4, team="艺术系", member_id="m4"),
        ],
        "e2": [Result(rank=1, team="体育部"), Result(rank=2, team="音乐系")],
    }
    table = standings(results, [5, 3, 2], teams=["后勤处"])
    assert [(s.rank, s.team, s.points, s.firsts) for s in table] == [
        (1, "体育部", 8, 1),
        (2, "音乐系", 6, 0),
        (3, "艺术系", 5, 1),
        (4, "后勤处", 0, 0),
    ]
    even = standings({"e1": [Result(rank=1, team="A"), Result(rank=1, team="B")]}, [3])
    assert [(s.rank, s.team) for s in even] == [(1, "A"), (1, "B")]


def test_a_meet_publishes_standings_and_podiums_and_counts_revisions():
    cmd = SetUpMeet(
        max_entries=2,
        points=[5, 3, 1],
        items=[NewItem(name="托球跑"), NewItem(name="迎面接力", kind=ItemKind.relay)],
    )
    meet = set_up("a-0123456789ab", "main", "趣味运动会", cmd)
    [event] = meet.events
    assert isinstance(event, SportsMeetSetUp) and [i.item_id for i in event.items] == ["e1", "e2"]
    meet.pull_events()
    with pytest.raises(Conflict):
        meet.publish(NOW)
    meet.record_results("e1", ranked(Measure.time, rows(m1=10, m2=11), TEAMS))
    first = meet.publish(NOW, teams=["后勤处"])
    published = [e for e in meet.pull_events() if isinstance(e, SportsResultsPublished)]
    assert first.revision == 1 and published[0].standings[0].team == "艺术系"
    assert [p.member_id for p in published[0].podiums[0].places] == ["m1", "m2"]
    meet.publish(NOW, teams=["后勤处"])  # nothing new: no second publication
    assert meet.pull_events() == []
    meet.record_results("e1", ranked(Measure.time, rows(m1=12, m2=11), TEAMS))
    assert meet.publish(NOW).revision == 2
    with pytest.raises(Conflict) as refused:
        meet.change_rules(ChangeRules(max_entries=1))
    assert refused.value.code == "meet.entries_shrink"
    with pytest.raises(Conflict):
        meet.add_item(NewItem(name="托球跑"))


def activity(**over) -> Activity:
    values = {
        "id": "a-0123456789ab",
        "campus": "main",
        "kind": ActivityKind.lecture,
        "title": "心理健康讲座",
        "venue": "图书馆报告厅",
        "starts_at": datetime(2026, 11, 3, 7, 0, tzinfo=UTC),  # 15:00 in Beijing
        "ends_at": datetime(2026, 11, 3, 8, 30, tzinfo=UTC),
        "status": ActivityStatus.published,
        "version": 2,
        "published_at": NOW,
        **over,
    }
    return Activity(**values)


def test_the_feed_has_local_times_stable_uids_and_cancellations():
    plan = new_plan(2026, "*", None, [], "admin", NOW)
    plan.add_item(ItemText(month_from=7, month_to=8, title="新教师入会工作"), NOW)
    plan.add_item(ItemText(month_from=12, title="教代会"), NOW)
    plan.move_item("02", ItemStatus.cancelled, NOW)
    cancelled = activity(
        id="a-ba9876543210", status=ActivityStatus.cancelled, cancel_reason="天气原因", version=4
    )
    body = feed("main", [plan], [ShownActivity(activity(), NOW), ShownActivity(cancelled, NOW)])
    cal = icalendar.Calendar.from_ical(body)
    assert cal.get("x-wr-timezone") == "Asia/Shanghai"
    assert [tz.get("tzid") for tz in cal.walk("VTIMEZONE")] == ["Asia/Shanghai"]
    events = {str(e.get("uid")): e for e in cal.walk("VEVENT")}
    lecture = events["a-0123456789ab@gonghui.events"]
    start = lecture.decoded("dtstart")
    assert (start.hour, start.minute, str(start.tzinfo)) == (15, 0, "Asia/Shanghai")
    assert "TZID=Asia/Shanghai" in body.decode() and lecture.get("sequence") == 2
    assert lecture.get("status") == "CONFIRMED"
    assert events["a-ba9876543210@gonghui.events"].get("status") == "CANCELLED"
    span = events["pl-2026-01@gonghui.events"]
    assert (span.decoded("dtstart"), span.decoded("dtend")) == (date(2026, 7, 1), date(2026, 9, 1))
    assert events["pl-2026-02@gonghui.events"].get("status") == "CANCELLED"
    assert events["pl-2026-02@gonghui.events"].get("sequence") == 1


def test_feed_tokens_are_per_campus_and_secret():
    secret = b"0123456789abcdef0123"
    token = feed_token(secret, "main")
    assert len(token) == 32 and token != feed_token(secret, "east")
    assert token != feed_token(b"another-secret-000000", "main")
    assert token_matches(secret, "main", token) and not token_matches(secret, "east", token)


def test_production_refuses_the_development_calendar_secret():
    keys: dict[str, Any] = {
        "env": "production",
        "auth_public_key_file": "/etc/gonghui/signing.pub.pem",
    }
    with pytest.raises(ValueError, match="VOICE_SECRET"):  # the anonymous surveys' tokens
        EventsSettings(**keys, calendar_secret="a-secret-of-our-own-0123")
    keys["voice_secret"] = "a-voice-secret-of-our-own"
    with pytest.raises(ValueError, match="CALENDAR_SECRET"):
        EventsSettings(**keys, calendar_secret=DEV_CALENDAR_SECRET)
    assert EventsSettings(**keys, calendar_secret="a-secret-of-our-own-0123").env == "production"
    assert EventsSettings(env="test").calendar_secret == DEV_CALENDAR_SECRET
