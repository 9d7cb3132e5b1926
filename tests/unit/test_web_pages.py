"""The web front end's pure pieces: where a login may send the browser back to, how times
are written, how the activity form becomes a command, when the sign-up button shows, when
the objection form of a commendation's publicity shows, how the annual plan is laid out by
month."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from services.events.plans.api import plan_view
from services.events.plans.domain import ItemStatus, ItemText, Link, LinkKind, new_plan
from services.web.filters import clock, full, month_of, when
from services.web.pages.admin_activities import activity_body
from services.web.pages.login import safe_next
from services.web.pages.member import signup_state
from services.web.pages.plan import (
    chosen_year,
    linked_activities,
    may_move,
    other_statuses,
    plan_months,
    plan_order,
    years_of,
)
from services.web.pages.voice_member import objection_closed
from services.web.sessions import Session


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/m/activities", "/m/activities"),
        ("/admin/members?q=王", "/admin/members?q=王"),
        ("//evil.example/m", "/m"),
        ("https://evil.example/", "/m"),
        ("/\\evil.example", "/m"),
        (None, "/m"),
        ("", "/m"),
    ],
)
def test_login_returns_only_to_a_path_of_this_site(target, expected):
    assert safe_next(target) == expected


def test_times_are_written_in_beijing_time():
    moment = "2027-03-20T07:00:00+00:00"  # 15:00 in Shanghai
    assert when(moment) == "3月20日（周六）15:00"
    assert full(moment) == "2027年3月20日 15:00"
    assert clock(datetime(2027, 3, 20, 6, 2, tzinfo=UTC)) == "14:02"
    assert month_of("2027-03-31T17:00:00+00:00") == "2027年4月"  # already April there
    assert when(None) == ""


def test_the_activity_form_becomes_a_draft_command():
    body = activity_body(
        {
            "title": " 春游 ",
            "kind": "outing",
            "campus": "main",
            "venue": "西湖",
            "starts_at": "2027-04-10T08:00",
            "ends_at": "2027-04-10T17:00",
            "signup_closes_at": "",
            "capacity": "40",
            "guests_max": "2",
            "waitlist": "on",
            "gender": "female",
            "retired": "on",
        }
    )
    assert body["title"] == "春游"
    assert body["capacity"] == 40 and body["guests_max"] == 2 and body["waitlist"] is True
    assert body["signup_closes_at"] is None
    assert body["eligibility"] == {"gender": "female", "statuses": ["active", "retired"]}
    assert activity_body({"capacity": ""})["capacity"] is None


def test_the_sign_up_button_shows_only_while_sign_up_is_open():
    activity = {
        "status": "published",
        "status_label": "报名中",
        "starts_at": "2027-04-10T08:00:00+08:00",
        "signup_opens_at": "2027-04-01T08:00:00+08:00",
        "signup_closes_at": "2027-04-08T18:00:00+08:00",
    }
    at = lambda text: datetime.fromisoformat(text)  # noqa: E731
    assert signup_state(activity, at("2027-03-31T12:00:00+08:00")) == "报名尚未开始"
    assert signup_state(activity, at("2027-04-05T12:00:00+08:00")) is None
    assert signup_state(activity, at("2027-04-09T12:00:00+08:00")) == "报名已截止"
    draft = {**activity, "status": "draft", "status_label": "草稿"}
    assert signup_state(draft, at("2027-04-05T12:00:00+08:00")) == "活动草稿，不能报名"


def test_the_objection_form_shows_only_within_the_publicity_dates():
    """Events takes objections from the publicity's first day to its last (Beijing dates,
    both included); outside them the page says when they open, or that they closed."""
    campaign = {
        "phase": "publicity",
        "publicity_from": "2027-05-10",
        "publicity_until": "2027-05-16",
    }
    early = objection_closed(campaign, date(2027, 5, 9))
    assert early == "公示期：2027年5月10日 至 2027年5月16日，公示开始后可提出异议"
    assert objection_closed(campaign, date(2027, 5, 10)) is None
    assert objection_closed(campaign, date(2027, 5, 16)) is None
    late = objection_closed(campaign, date(2027, 5, 17))
    assert late == "公示期：2027年5月10日 至 2027年5月16日，已结束，不再受理异议"


def plan_answer() -> dict:
    """A plan as GET /plans/{id} answers it (the events service's own view, as JSON)."""
    now = datetime(2026, 6, 10, 2, tzinfo=UTC)
    plan = new_plan(2026, "main", None, [], "c", now)
    plan.add_item(ItemText(month_from=3, title="妇女节系列活动"), now)  # 01: overdue
    plan.add_item(ItemText(month_from=7, month_to=8, title="新教师入会"), now)  # 02
    plan.add_item(ItemText(month_from=3, title="春季健步走"), now)  # 03: done
    plan.add_item(ItemText(month_from=8, title="暑期疗休养"), now)  # 04
    plan.move_item("03", ItemStatus.done, now)
    plan.link("02", Link(kind=LinkKind.activity, id="a-0123456789ab"), now)
    plan.link("04", Link(kind=LinkKind.survey, id="s-1"), now)
    plan.link("04", Link(kind=LinkKind.activity, id="a-0123456789ab"), now)
    return plan_view(plan, today=date(2026, 6, 10)).model_dump(mode="json")


def test_the_plan_is_laid_out_by_the_month_its_items_are_due():
    months = plan_months(plan_answer())
    assert [m["label"] for m in months] == ["3月", "8月"]
    march, august = months
    assert [i["id"] for i in march["items"]] == ["01", "03"]
    assert [i["overdue"] for i in march["items"]] == [True, False]
    assert march["summary"] == {"done": 1, "overdue": 1, "upcoming": 0, "cancelled": 0}
    # 7-8月 is due in August and says its span itself
    assert [(i["id"], i["months"]) for i in august["items"]] == [("02", "7-8月"), ("04", "8月")]
    assert august["summary"]["upcoming"] == 2
    assert plan_months({"items": [], "summary": []}) == []


def test_the_plan_pages_choose_years_plans_and_links():
    plans = [
        {"id": "pl-2025-main", "year": 2025, "campus": "main"},
        {"id": "pl-2024", "year": 2024, "campus": "*"},
        {"id": "pl-2025", "year": 2025, "campus": "*"},
    ]
    assert years_of(plans, 2026) == [2026, 2025, 2024]
    assert chosen_year(None, plans, 2026) == 2025  # this year has none: the newest that has
    assert chosen_year(None, plans, 2025) == 2025
    assert chosen_year(2024, plans, 2026) == 2024
    assert chosen_year(None, [], 2026) == 2026
    assert [p["id"] for p in plan_order(plans)] == ["pl-2024", "pl-2025", "pl-2025-main"]
    assert linked_activities(plan_answer()) == ["a-0123456789ab"]  # once; surveys are not
    assert list(other_statuses("done")) == ["planned", "in_progress", "cancelled"]


def test_the_status_form_is_offered_to_cadres_of_the_plans_campus():
    def session(roles: list[str], campuses: list[str]) -> Session:
        return Session("m-1", roles, campuses, "csrf", datetime(2027, 1, 1, tzinfo=UTC))

    main_cadre = session(["member", "cadre"], ["main"])
    assert may_move(main_cadre, "main")
    assert not may_move(main_cadre, "north")
    assert not may_move(main_cadre, "*")  # the school-wide plan is the school's cadres'
    assert may_move(session(["cadre"], ["*"]), "*")
    assert may_move(session(["admin"], ["main"]), "main")
    assert not may_move(session(["auditor"], ["*"]), "main")
    assert not may_move(None, "main")
