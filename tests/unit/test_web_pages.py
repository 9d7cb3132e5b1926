"""The web front end's pure pieces: where a login may send the browser back to, how times
are written, how the activity form becomes a command, when the sign-up button shows."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.web.filters import clock, full, month_of, when
from services.web.pages.admin_activities import activity_body
from services.web.pages.login import safe_next
from services.web.pages.member import signup_state


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
