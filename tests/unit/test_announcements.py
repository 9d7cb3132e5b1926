"""Announcements (通知公告), pure: the segment's rule and words, the channels a member gets,
the counts per campus and department, and the chart's geometry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from services.notify.announcements.domain import Announcement, Segment, channels_of, tally
from services.notify.preferences.domain import Preferences
from services.notify.routing.audience import eligible
from services.web.pages.notices_desk import read_chart

NOW = datetime(2026, 12, 6, 2, 0, tzinfo=UTC)


def notice(mandatory: bool = False, **segment) -> Announcement:
    return Announcement(
        "ann-000000000001",
        "main",
        "通知",
        "正文",
        Segment(**segment),
        mandatory,
        NOW + timedelta(days=1),
        "cadre-1",
        NOW,
    )


def member(**over) -> dict:
    return {
        "_id": "m-1",
        "campus": "main",
        "department": "艺术系",
        "gender": "female",
        "status": "active",
        "roles": [],
        "small_group": "g-art",
        **over,
    }


def test_the_segment_picks_members_of_its_campus_by_each_rule():
    segment = Segment(departments=("艺术系",), gender="female", small_groups=("g-art",))
    rule = segment.rule("main")
    assert eligible(member(), rule, "main", 2026)
    assert not eligible(member(campus="east"), rule, "main", 2026)
    assert not eligible(member(department="音乐系"), rule, "main", 2026)
    assert not eligible(member(gender="male"), rule, "main", 2026)
    assert not eligible(member(small_group="g-pe"), rule, "main", 2026)
    assert not eligible(member(status="withdrawn"), rule, "main", 2026)
    cadres = Segment(roles=("chair", "committee")).rule("main")
    assert eligible(member(roles=["committee"]), cadres, "main", 2026)
    assert not eligible(member(roles=["group_leader"]), cadres, "main", 2026)
    school = Segment().rule("*")
    assert eligible(member(campus="east"), school, "*", 2026)


def test_the_segment_says_whom_in_words():
    assert Segment().label == "全体会员"
    words = Segment(("艺术系", "音乐系"), "male", ("chair",), ("g-art",)).label
    assert words == "部门：艺术系、音乐系；性别：男；角色：主席；小组：g-art"


def test_opted_out_channels_are_left_out_unless_the_notice_is_mandatory():
    inbox_only = Preferences(channels={"announcement": ["inbox"]})
    assert [c.value for c in channels_of(notice(), inbox_only)] == ["inbox"]
    assert [c.value for c in channels_of(notice(mandatory=True), inbox_only)] == [
        "inbox",
        "email",
        "wecom",
    ]
    assert len(channels_of(notice(), Preferences())) == 3


def test_a_notice_expires_at_its_expiry():
    n = notice()
    assert not n.expired(NOW)
    assert n.expired(NOW + timedelta(days=1))


def test_counts_per_campus_and_department():
    rows = [
        {"campus": "main", "department": "艺术系", "status": "read"},
        {"campus": "main", "department": "艺术系", "status": "sent"},
        {"campus": "east", "department": "", "status": "sent"},
    ]
    stats = tally(rows)
    assert (stats.delivered, stats.read) == (3, 1)
    assert [(t.key, t.delivered, t.read) for t in stats.campuses] == [
        ("east", 1, 0),
        ("main", 2, 1),
    ]
    assert [(t.key, t.delivered, t.read) for t in stats.departments] == [
        ("未填部门", 1, 0),
        ("艺术系", 2, 1),
    ]
    assert stats.departments[1].rate == 0.5


def test_counted_rows_add_up_like_the_deliveries_they_count():
    # What the database's grouping hands back: one row per campus, department and status.
    rows: list[dict[str, Any]] = [
        {"campus": "main", "department": "艺术系", "status": "read", "n": 30},
        {"campus": "main", "department": "艺术系", "status": "sent", "n": 10},
        {"campus": "east", "department": None, "status": "sent", "n": 5},
    ]
    stats = tally(rows)
    assert (stats.delivered, stats.read) == (45, 30)
    assert [(t.key, t.delivered, t.read) for t in stats.campuses] == [
        ("east", 5, 0),
        ("main", 40, 30),
    ]
    assert stats.departments[1].rate == 0.75


def test_the_chart_scales_to_the_largest_department():
    chart = read_chart(
        [
            {"key": "艺术系", "delivered": 10, "read": 5},
            {"key": "音乐系", "delivered": 5, "read": 0},
        ]
    )
    big, small = chart["bars"]
    assert (big["delivered_w"], big["read_w"], big["percent"]) == (320, 160, 50)
    assert (small["delivered_w"], small["read_w"], small["percent"]) == (160, 0, 0)
    assert small["y"] > big["y"] and chart["height"] > small["y"] + 18
    assert read_chart([])["bars"] == []
