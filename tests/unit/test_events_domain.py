"""Activity, eligibility, registration and attendance rules, without I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.events.activities.domain import (
    Activity,
    ActivityKind,
    ActivityStatus,
    DraftActivity,
    EditActivity,
    activity_id_for,
    draft,
)
from services.events.activities.eligibility import Person, conditions, refusal
from services.events.checkin.domain import attendance, csv_row
from services.events.registrations.domain import (
    CODE_ALPHABET,
    CancelReason,
    RegistrationStatus,
    Seated,
    Waiting,
    new_code,
    sign_up,
    walk_in,
    window,
)
from shared.errors import Conflict
from shared.events.events import ActivityChanged, ActivityPublished, AttendanceRecorded
from shared.timeutil import to_utc

NOW = datetime(2026, 4, 1, 2, 0, tzinfo=UTC)


def command(**over) -> DraftActivity:
    values = {
        "kind": "春秋游",
        "title": " 春季踏青 ",
        "campus": "main",
        "venue": "植物园",
        "starts_at": "2026-04-18T08:30",
        "ends_at": "2026-04-18T17:00",
        "capacity": 40,
        "guests_max": 2,
        **over,
    }
    return DraftActivity.model_validate(values)


def published(**over) -> Activity:
    activity = draft(command(**over), "cadre-1")
    activity.pull_events()
    activity.publish(NOW)
    activity.pull_events()
    return activity


def person(**over) -> Person:
    values = {
        "id": "m-1",
        "name": "王芳",
        "campus": "main",
        "department": "艺术系",
        "status": "active",
        "gender": "female",
        "birthday": "06-01",
        "birth_year": 1980,
        "small_group": "g-art",
        "roles": ("group_leader",),
        **over,
    }
    return Person(**values)


def test_a_draft_keeps_utc_and_takes_the_chinese_kind():
    activity = draft(command(), "cadre-1")
    assert activity.kind is ActivityKind.outing and activity.kind_label == "春秋游"
    assert activity.title == "春季踏青"
    assert activity.starts_at == datetime(2026, 4, 18, 0, 30, tzinfo=UTC)  # 08:30 Beijing
    assert activity.status is ActivityStatus.draft
    [event] = activity.events
    assert event.type == "events.activity.drafted.v1"


def test_the_same_reference_drafts_the_same_id():
    assert activity_id_for("main", "plan-2026-04") == activity_id_for("main", "plan-2026-04")
    assert activity_id_for("main", "plan-2026-04") != activity_id_for("east", "plan-2026-04")
    assert activity_id_for("main", None) != activity_id_for("main", None)


@pytest.mark.parametrize(
    ("over", "message"),
    [
        ({"ends_at": "2026-04-18T08:00"}, "结束时间应晚于开始时间"),
        ({"signup_closes_at": "2026-04-19T00:00"}, "报名截止时间不能晚于活动开始时间"),
        (
            {"signup_opens_at": "2026-04-10T00:00", "signup_closes_at": "2026-04-09T00:00"},
            "报名开始时间应早于报名截止时间",
        ),
        ({"starts_at": "1999-12-31T00:00"}, "活动时间应在 2000 至 2100 年之间"),
        ({"eligibility": {"age_min": 50, "age_max": 40}}, "最小年龄不能大于最大年龄"),
        ({"eligibility": {"campuses": ["east"]}}, "校区活动只面向本校区"),
    ],
)
def test_plans_that_contradict_themselves_are_conflicts(over, message):
    with pytest.raises(Conflict) as refused:
        draft(command(**over), "cadre-1")
    assert refused.value.message.startswith(message)


def test_the_lifecycle_and_its_refusals():
    activity = published()
    assert activity.status is ActivityStatus.published and activity.published_at == NOW
    with pytest.raises(Conflict, match="不能发布"):
        activity.publish(NOW)
    with pytest.raises(Conflict, match="活动尚未开始"):
        activity.complete(NOW)
    activity.close_registration()
    activity.complete(activity.starts_at + timedelta(hours=1))
    assert activity.status.value == "completed"
    with pytest.raises(Conflict, match="「已结束」，不能取消"):
        activity.cancel("下雨")
    past = draft(command(starts_at="2026-03-01T08:00", ends_at="2026-03-01T09:00"), "c")
    with pytest.raises(Conflict, match="开始时间已过"):
        past.publish(NOW)


def test_changing_time_or_venue_is_an_event_and_seats_only_grow_while_open():
    activity = published()
    activity.edit(EditActivity(venue="人民公园", starts_at=None))
    [event] = activity.pull_events()
    assert isinstance(event, ActivityChanged) and event.changed == ["venue"]
    assert event.venue == "人民公园" and event.status == "published"
    activity.edit(EditActivity(venue="人民公园"))
    assert activity.events == []  # nothing changed, nothing recorded
    with pytest.raises(Conflict, match="名额只能增加"):
        activity.edit(EditActivity(capacity=10))
    activity.edit(EditActivity(capacity=None))  # no limit any more: that is growing
    assert activity.capacity is None


def test_published_events_carry_what_notify_needs():
    activity = draft(command(eligibility={"gender": "female", "statuses": ["active"]}), "c")
    activity.pull_events()
    activity.publish(NOW)
    [event] = activity.events
    assert isinstance(event, ActivityPublished)
    assert event.campus == "main" and event.eligibility.gender == "female"
    assert event.starts_at.tzinfo is not None and event.kind_label == "春秋游"


@pytest.mark.parametrize(
    ("rule", "who", "name", "message"),
    [
        ({"gender": "male"}, {}, "gender", "本活动仅限男教职工参加"),
        (
            {"departments": ["音乐系", "体育部"]},
            {},
            "department",
            "本活动仅限音乐系、体育部教职工参加",
        ),
        ({"age_max": 40}, {}, "age", "本活动仅限 40 岁及以下的教职工参加"),
        ({"age_min": 30, "age_max": 40}, {}, "age", "本活动仅限 30–40 岁的教职工参加"),
        (
            {"age_min": 30},
            {"birth_year": None},
            "age",
            "本活动有年龄要求，您的出生日期未登记，请联系工会干部",
        ),
        ({"roles": ["chair", "committee"]}, {}, "role", "本活动仅限工会主席、工会委员参加"),
        ({"small_groups": ["g-pe"]}, {}, "small_group", "本活动仅限教工小家（g-pe）成员参加"),
        ({}, {"status": "retired"}, "status", "本活动仅限在职会员参加"),
        ({}, {"status": "withdrawn"}, "status", "只有工会会员才能报名（您当前不是在会会员）"),
        ({}, {"campus": "north"}, "campus", "本活动仅限main校区教职工参加"),
    ],
)
def test_each_rule_names_itself_and_says_why(rule, who, name, message):
    activity = published(eligibility=rule)
    found = refusal(activity, person(**who))
    assert found is not None and (found.rule, found.message) == (name, message)


def test_rules_on_campuses_and_small_groups_give_their_codes_for_names():
    """A page that knows the names shows 主校区 where events can only say main."""
    found = refusal(published(), person(campus="north"))
    assert found is not None and (found.codes, found.template) == (
        ("main",),
        "本活动仅限{}教职工参加",
    )
    stated = conditions(published(campus="*", eligibility={"small_groups": ["g-pe", "g-art"]}))
    assert [(c.rule, c.text, c.codes, c.template) for c in stated] == [
        ("small_group", "教工小家：g-pe、g-art", ("g-pe", "g-art"), "教工小家：{}")
    ]
    assert [(c.rule, c.codes) for c in conditions(published())] == [("campus", ("main",))]
    by_gender = refusal(published(eligibility={"gender": "male"}), person())
    assert by_gender is not None and by_gender.codes == () and by_gender.template is None


def test_ages_are_counted_on_the_day_it_starts():
    activity = published(eligibility={"age_min": 46})  # starts 2026-04-18
    assert refusal(activity, person(birth_year=1980, birthday="04-18")) is None
    assert refusal(activity, person(birth_year=1980, birthday="04-19")) is not None


def test_retirees_and_everyone_else_who_fits():
    assert (
        refusal(
            published(eligibility={"statuses": ["active", "retired"]}), person(status="retired")
        )
        is None
    )
    school = published(campus="*", eligibility={"campuses": ["main", "north"]})
    assert refusal(school, person(campus="north")) is None
    assert refusal(published(campus="*"), person(campus="west")) is None


def registration(outcome, guests: int = 0):
    """A registration as written, its sign-up event already taken."""
    r = sign_up(published(), person(), guests, outcome, "tok", "m-1", NOW)
    r.pull_events()
    return r


def test_a_seat_or_a_place_in_line_and_its_event():
    seated = sign_up(published(), person(), 1, Seated([3, 4], "K7M2QX"), "tok", "m-1", NOW)
    assert seated.status is RegistrationStatus.confirmed and seated.seats_taken == 2
    assert seated.partition_key == seated.activity_id  # one activity, one partition
    assert [e.type for e in seated.pull_events()] == ["events.registration.confirmed.v1"]
    waiting = registration(Waiting(7))
    assert waiting.status is RegistrationStatus.waitlisted and waiting.waitlist_no == 7
    waiting.promote("other-token", Seated([1], "ABCDEF"), NOW)
    assert waiting.events == []  # not this sign-up's place: nothing happens
    waiting.promote("tok", Seated([1], "ABCDEF"), NOW)
    assert waiting.status.value == "confirmed" and waiting.code == "ABCDEF"


def test_cancel_once_keeping_the_seats_for_the_promoter():
    r = registration(Seated([5], "K7M2QX"))
    r.cancel(CancelReason.member, "m-1", NOW)
    [event] = r.pull_events()
    assert event.reason == "member" and event.seats_freed == 1 and r.seats == [5]
    with pytest.raises(Conflict, match="该报名已取消"):
        r.cancel(CancelReason.member, "m-1", NOW)
    r.sign_up_again(Waiting(9), "tok2", 0, "m-1", NOW)
    assert (r.round, r.status, r.waitlist_no) == (2, RegistrationStatus.waitlisted, 9)


def test_a_second_check_in_says_when_and_by_whom():
    r = registration(Seated([1], "K7M2QX"))
    r.check_in("cadre-1", "王芳", datetime(2026, 4, 18, 6, 2, tzinfo=UTC), "outing")
    assert [e.type for e in r.pull_events()] == [
        "events.registration.checked_in.v1",
        "events.attendance.recorded.v1",
    ]
    with pytest.raises(Conflict) as again:
        r.check_in("cadre-2", "李静", NOW, "outing")
    assert again.value.message == "已于 14:02 由 王芳 签到"
    waiting = registration(Waiting(1))
    with pytest.raises(Conflict, match="候补中"):
        waiting.check_in("cadre-1", "王芳", NOW, "outing")


def test_a_walk_in_attends_without_a_seat():
    r = walk_in(published(), person(), "cadre-1", "王芳", NOW)
    assert r.walk_in and r.seats == [] and r.checked_in_at == NOW
    [_, attended] = r.events
    assert isinstance(attended, AttendanceRecorded)
    assert attended.activity_kind == "outing" and attended.walk_in


def test_check_in_codes_are_unambiguous():
    for _ in range(200):
        code = new_code()
        assert len(code) == 6 and set(code) <= set(CODE_ALPHABET)
    assert not set("01ILO") & set(CODE_ALPHABET)


def test_the_sign_up_window():
    activity = published(signup_opens_at="2026-04-05T00:00", signup_closes_at="2026-04-15T18:00")
    assert window(activity, NOW) == "not_open"
    assert window(activity, to_utc(datetime(2026, 4, 10))) == "open"
    assert window(activity, to_utc(datetime(2026, 4, 15, 18))) == "closed"


def test_attendance_counts_members_and_their_guests():
    a = registration(Seated([1, 2], "AAAAAA"), guests=1)
    a.check_in("c", "王芳", NOW, "outing")
    b = registration(Waiting(1))
    c = registration(Seated([3], "BBBBBB"))
    c.cancel(CancelReason.cadre, "c", NOW)
    found = attendance([a, b, c])
    t = found.total
    assert (t.registered, t.seats, t.waitlisted, t.cancelled, t.attended) == (1, 2, 1, 1, 1)
    assert t.rate == 1.0 and found.by_department["艺术系"].registered == 1
    assert csv_row(a)[3] == "报名成功（已签到）" and csv_row(c)[-1] == "工会干部移除"
