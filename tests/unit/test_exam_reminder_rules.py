"""The exam desk's pure rules (issue 15): when a reminder to book may go out and under which
key, the day the completion form offers, and the reminder's route and zh-CN words."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from services.notify.routing.domain import Audience, Category, ChannelName
from services.notify.routing.table import TABLE
from services.notify.templates.defaults import DEFAULTS
from services.notify.templates.domain import TemplateText, render
from services.web.pages.exams_desk import completion_default
from services.welfare.exams.domain import ExamPlan, PlanSettings
from services.welfare.exams.reminders import last_bookable_day, reminder_id_of
from shared.errors import Conflict
from shared.events.welfare_exams import ExamBookingReminderRequested


def plan(*days: str) -> ExamPlan:
    body = {
        "title": "2027年度教职工体检",
        "union_pays": False,
        "providers": [{"code": "rmyy", "name": "人民医院"}],
        "packages": [{"code": "basic", "name": "基础", "price_fen": 40_000}],
        "slots": [
            {"code": f"s{i}", "provider": "rmyy", "day": d, "capacity": 5}
            for i, d in enumerate(days)
        ],
    }
    return ExamPlan.new("main", 2027, PlanSettings.model_validate(body))


def test_a_reminder_names_the_last_slot_day_while_one_is_ahead():
    exams = plan("2027-03-10", "2027-06-30", "2027-04-01")
    assert last_bookable_day(exams, date(2027, 1, 5)) == date(2027, 6, 30)
    assert last_bookable_day(exams, date(2027, 6, 30)) == date(2027, 6, 30)  # today counts
    with pytest.raises(Conflict) as over:
        last_bookable_day(exams, date(2027, 7, 1))
    assert over.value.code == "exam.booking_over" and "均已过" in over.value.message


def test_one_reminder_key_per_plan_and_day():
    assert reminder_id_of("main:2027", date(2027, 3, 1)) == "main:2027@2027-03-01"
    assert reminder_id_of("main:2027", date(2027, 3, 1)) != reminder_id_of(
        "main:2027", date(2027, 3, 2)
    )
    assert reminder_id_of("main:2027", date(2027, 3, 1)) != reminder_id_of(
        "east:2027", date(2027, 3, 1)
    )


def test_the_completion_form_offers_the_booked_day_once_it_has_come():
    booked = date(2027, 3, 10)
    assert completion_default(booked, date(2027, 3, 12), 2027) == booked  # done: that day
    assert completion_default(booked, booked, 2027) == booked
    # Recorded early within the plan's year: today (the exam was moved forward by phone).
    assert completion_default(booked, date(2027, 2, 1), 2027) == date(2027, 2, 1)
    # Today outside the plan's year (welfare refuses it): the booked day.
    assert completion_default(booked, date(2026, 12, 1), 2027) == booked


def test_the_reminder_reaches_the_listed_members_in_chinese():
    event = ExamBookingReminderRequested(
        plan_id="main:2027",
        campus="main",
        year=2027,
        title="2027年度教职工体检",
        requested_on=date(2027, 3, 1),
        last_day=date(2027, 6, 30),
        member_ids=["m1", "m2"],
    )
    route = TABLE.routes[event.type]
    assert route.audience is Audience.listed and route.category is Category.reminder
    assert ChannelName.inbox in route.channels and not route.mandatory
    facts = route.facts(event, datetime(2027, 3, 9, 12, 0, tzinfo=UTC))
    assert list(facts.member_ids or []) == ["m1", "m2"] and facts.campus == "main"
    default = DEFAULTS[route.template]
    assert set(facts.variables) | {"name"} == set(default.sample)
    rendered = render(
        TemplateText(default.title, default.body), {"name": "李娜", **facts.variables}
    )
    assert rendered.title == "请预约2027年度体检"
    assert rendered.text.startswith(
        "李娜，您好！「2027年度教职工体检」正在预约，您还没有预约体检。"
    )
    assert "体检时段安排至2027年6月30日" in rendered.text
    with pytest.raises(ValueError):  # an empty list is no reminder
        ExamBookingReminderRequested(**{**event.model_dump(), "member_ids": []})
