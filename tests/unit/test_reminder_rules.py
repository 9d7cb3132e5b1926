"""Reminders' pure rules: when each is due, the id it fires under (moved → a new one), who gets
it, and its route's zh-CN text (no I/O)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from services.notify.reminders.domain import (
    activity_schedules,
    confirmed,
    exam_schedule,
    fire_key,
    gift_schedule,
    is_due,
    reminder_of,
    unchosen,
)
from services.notify.routing.domain import Audience, Category, ChannelName
from services.notify.routing.reminders import (
    ActivityInAnHour,
    ActivityTomorrow,
    ExamTomorrow,
    GiftChoiceDue,
)
from services.notify.routing.table import REMINDER_ROUTES, TABLE
from services.notify.templates.defaults import DEFAULTS
from services.notify.templates.domain import TemplateText, render
from shared.events import load_all
from shared.timeutil import SHANGHAI

START = datetime(2027, 4, 12, 1, 0, tzinfo=UTC)  # 09:00 Beijing time
FIRED = START - timedelta(days=1)  # when a reminder went off


def _due(schedule, now: datetime) -> bool:
    return is_due(schedule.fire_at, schedule.until, schedule.active, now)


def test_an_activity_has_a_day_before_and_an_hour_before_reminder_each_due_in_its_window():
    day, hour = activity_schedules("a-1", "main", "published", "春季踏青", "植物园", START)
    assert (day.kind, hour.kind) == (ActivityTomorrow.type, ActivityInAnHour.type)
    assert not _due(day, START - timedelta(hours=24, seconds=1))
    assert _due(day, START - timedelta(hours=24))
    assert _due(day, START - timedelta(hours=2))
    # The last hour belongs to the hour reminder; after the start nothing is sent late.
    assert not _due(day, START - timedelta(minutes=59)) and _due(
        hour, START - timedelta(minutes=59)
    )
    assert not _due(hour, START - timedelta(hours=1, seconds=1))
    assert not _due(hour, START)


def test_a_cancelled_or_finished_activity_reminds_nobody():
    for status in ("cancelled", "completed", "draft"):
        for s in activity_schedules("a-1", "main", status, "踏青", "植物园", START):
            assert not s.active
            assert not _due(s, s.fire_at)
    for status in ("published", "registration_closed"):
        assert all(s.active for s in activity_schedules("a-1", "main", status, "踏青", "x", START))


def test_a_moved_activity_fires_under_a_new_key_and_a_venue_change_does_not():
    day, _ = activity_schedules("a-1", "main", "published", "踏青", "植物园", START)
    moved, _ = activity_schedules(
        "a-1", "main", "published", "踏青", "植物园", START + timedelta(1)
    )
    elsewhere, _ = activity_schedules("a-1", "main", "published", "踏青", "东山公园", START)
    assert day.id == moved.id == "activity_24h:a-1"  # one schedule per activity and kind
    assert fire_key(day.id, day.until) != fire_key(moved.id, moved.until)
    assert fire_key(day.id, day.until) == fire_key(elsewhere.id, elsewhere.until)
    assert fire_key(day.id, day.until) == "reminder:activity_24h:a-1@20270412T0800"


def test_the_gift_reminder_is_due_the_day_before_the_deadline_and_the_exam_one_the_eve():
    deadline = datetime(2027, 9, 20, 10, 0, tzinfo=UTC)
    gift = gift_schedule("pl-1", "main", "mid_autumn", 2027, deadline)
    assert gift.fire_at == deadline - timedelta(hours=24) and gift.until == deadline
    assert not _due(gift, deadline)
    exam = exam_schedule("main:2027:m-1", "m-1", "main", date(2027, 3, 10))
    eve = exam.fire_at.astimezone(SHANGHAI)
    assert (eve.date(), eve.hour) == (date(2027, 3, 9), 17)
    assert exam.until.astimezone(SHANGHAI) == datetime(2027, 3, 10, tzinfo=SHANGHAI)
    assert _due(exam, datetime(2027, 3, 9, 15, 59, tzinfo=UTC))  # 23:59 Beijing time
    assert not _due(exam, datetime(2027, 3, 9, 16, 0, tzinfo=UTC))  # the exam day has begun


def test_who_gets_a_reminder_confirmed_registrants_and_members_who_have_not_chosen():
    registrations = [
        {"member_id": "m-1", "status": "confirmed"},
        {"member_id": "m-2", "status": "waitlisted"},
        {"member_id": "m-3", "status": "cancelled", "reason": "member"},
        {"member_id": "m-4", "status": "cancelled", "reason": "activity_cancelled"},
        {"member_id": "m-5", "status": "confirmed"},
    ]
    assert confirmed(registrations) == ("m-1", "m-5")
    entitlements = [
        {"member_id": "m-1", "state": "created"},
        {"member_id": "m-2", "state": "chosen"},
        {"member_id": "m-3", "state": "voided"},
    ]
    assert unchosen(entitlements) == ("m-1",)


def _text(reminder) -> tuple[str, str]:
    route = TABLE.route(reminder.type)
    default = DEFAULTS[route.template]
    facts = route.facts(reminder, FIRED)
    assert set(facts.variables) | {"name"} == set(default.sample), route.event_type
    rendered = render(
        TemplateText(default.title, default.body), {"name": "李娜", **facts.variables}
    )
    return rendered.title, rendered.text


def test_each_reminder_route_renders_its_facts_in_chinese():
    day, hour = activity_schedules("a-1", "main", "published", "春季踏青", "植物园", START)
    tomorrow = reminder_of(day.kind, "a-1", "main", day.until, day.values, ("m-1",))
    assert isinstance(tomorrow, ActivityTomorrow)
    assert TABLE.route(tomorrow.type).facts(tomorrow, FIRED).member_ids == ("m-1",)
    title, text = _text(tomorrow)
    assert title == "活动提醒：春季踏青"
    assert text.startswith("李娜，您好！您报名的「春季踏青」将于4月12日 09:00在植物园开始")
    soon = reminder_of(hour.kind, "a-1", "main", hour.until, hour.values, ("m-1",))
    assert _text(soon)[0] == "活动即将开始：春季踏青"
    deadline = datetime(2027, 9, 20, 10, 0, tzinfo=UTC)
    g = gift_schedule("pl-1", "main", "mid_autumn", 2027, deadline)
    title, text = _text(reminder_of(g.kind, "pl-1", "main", g.until, g.values, ("m-1",)))
    assert title == "2027年中秋福利选择即将截止"
    assert "将于9月20日 18:00截止，您还没有选择" in text
    e = exam_schedule("b-1", "m-9", "main", date(2027, 3, 10))
    exam = reminder_of(e.kind, "b-1", "main", e.until, e.values, ())
    assert (
        isinstance(exam, ExamTomorrow)
        and TABLE.route(exam.type).facts(exam, FIRED).member_id == "m-9"
    )
    title, text = _text(exam)
    assert title == "明天体检：2027年3月10日" and "体检前一晚十点后请禁食" in text


def test_reminder_routes_are_routes_of_their_own_not_catalogued_events():
    catalog = set(load_all())
    assert {r.event_type for r in REMINDER_ROUTES} == set(TABLE.reminders)
    assert not set(TABLE.reminders) & catalog and not set(TABLE.reminders) & set(TABLE.routes)
    for route in REMINDER_ROUTES:
        assert route.category is Category.reminder and not route.mandatory
        assert ChannelName.inbox in route.channels
    assert TABLE.route(GiftChoiceDue.type).audience is Audience.listed
    assert TABLE.route(ExamTomorrow.type).audience is Audience.member


def test_the_integration_page_lists_every_reminder():
    page = (Path(__file__).parents[2] / "docs/integration/notifications.md").read_text()
    for reminder_type in TABLE.reminders:
        assert f"`{reminder_type}`" in page, f"{reminder_type} missing from the Reminders section"
