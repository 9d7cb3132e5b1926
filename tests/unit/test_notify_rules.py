"""Notify's pure rules: the routing table against the catalog, templates, quiet hours,
channel choice, retry backoff and the audience rule (no I/O)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from services.notify.delivery.domain import (
    OUTAGE_WAIT,
    DeliveryStatus,
    after_failure,
    backoff,
    delivery_id,
)
from services.notify.preferences.domain import Preferences, QuietHours, channels_for, send_after
from services.notify.routing.audience import eligible
from services.notify.routing.domain import Audience, Category, ChannelName, routing_table
from services.notify.routing.table import ROUTES, TABLE, UNROUTED
from services.notify.templates.defaults import DEFAULTS
from services.notify.templates.domain import TemplateText, render, validate
from shared.errors import Invalid
from shared.events import load_all
from shared.events.events import EligibilityFacts, RegistrationCancelled
from shared.events.members import AccountLocked, PasswordChanged
from shared.events.voice import (
    CampaignResultPublished,
    ProposalMoved,
    SuggestionReplied,
    SurveyClosingSoon,
    SurveyOpened,
)
from shared.events.welfare_exams import ExamBooked
from shared.events.welfare_plans import EntitlementCreated, EntitlementIssued
from shared.timeutil import SHANGHAI

AT = datetime(2027, 3, 1, 2, 0, tzinfo=UTC)  # an envelope's time


def test_every_catalogued_type_is_routed_or_consciously_unrouted():
    catalog = sorted(load_all())
    assert TABLE.uncovered(catalog) == [], "route it, or say why not in UNROUTED"
    assert all(why for why in UNROUTED.values())
    # The lists name only types that exist (a renamed type is noticed).
    assert not set(TABLE.routes) - set(catalog)
    assert not set(UNROUTED) - set(catalog)


def test_a_type_routed_twice_or_also_unrouted_fails_at_start():
    with pytest.raises(ValueError, match="routed twice"):
        routing_table([ROUTES[0], ROUTES[0]], {})
    with pytest.raises(ValueError, match="both routed and unrouted"):
        routing_table([ROUTES[0]], {ROUTES[0].event_type: "no"})


def test_the_routes_the_union_needs_exist_with_their_recipients():
    def route(t: str):
        return TABLE.routes[t]

    assert route("members.member.joined.v2").template == "welcome"
    assert route("events.activity.published.v1").audience is Audience.activity_audience
    assert route("events.activity.cancelled.v1").mandatory
    assert route("welfare.budget.threshold_reached.v1").audience is Audience.finance
    assert route("members.member.applied.v1").audience is Audience.campus_cadres
    link = route("members.account.login_link_requested.v2")
    assert link.channels == (ChannelName.email,) and link.mandatory  # never in the inbox
    # Issue 17's routes for the voice and welfare events: survey opened / closing soon reach
    # the survey's audience; entitlement created / issued and an exam booked reach the member.
    for survey in ("events.survey.opened.v1", "events.survey.closing_soon.v1"):
        assert route(survey).audience is Audience.survey_audience
    for own in (
        "welfare.entitlement.created.v1",
        "welfare.entitlement.issued.v1",
        "welfare.exam.booked.v1",
    ):
        assert route(own).audience is Audience.member and ChannelName.inbox in route(own).channels
    assert route("welfare.budget.threshold_reached.v1").channels == (
        ChannelName.inbox,
        ChannelName.email,
    )


@pytest.mark.parametrize("key", sorted(DEFAULTS))
def test_every_default_template_validates_and_renders_chinese(key):
    default = DEFAULTS[key]
    rendered = validate(key, TemplateText(default.title, default.body))
    assert rendered.title and "您好" in rendered.text
    assert "{{" not in rendered.text and "<p>" in rendered.html


def test_every_route_provides_exactly_what_its_template_may_name():
    for r in ROUTES:
        assert r.template in DEFAULTS, r.event_type
        assert "name" in DEFAULTS[r.template].sample


def _text(event) -> tuple[str, str]:
    route = TABLE.routes[event.type]
    default = DEFAULTS[route.template]
    facts = route.facts(event, AT)
    rendered = render(
        TemplateText(default.title, default.body), {"name": "李娜", **facts.variables}
    )
    assert set(facts.variables) | {"name"} == set(default.sample), route.event_type
    return rendered.title, rendered.text


def test_survey_and_welfare_routes_render_their_facts_in_chinese():
    opens = datetime(2027, 6, 1, 0, 0, tzinfo=UTC)
    survey = dict(
        survey_id="s1",
        title="暑期教工活动意见征集",
        campus="main",
        anonymous=True,
        opens_at=opens,
        closes_at=opens + timedelta(days=14, hours=10),
        audience=EligibilityFacts(departments=["艺术系"]),
        questions=8,
    )
    title, text = _text(SurveyOpened(**survey))
    assert title == "问卷邀请：暑期教工活动意见征集"
    assert "已开始填写（匿名），共8题，6月15日 18:00截止" in text
    facts = TABLE.routes[SurveyOpened.type].facts(SurveyOpened(**survey), AT)
    assert facts.eligibility and facts.eligibility["departments"] == ["艺术系"]
    title, text = _text(SurveyClosingSoon(**survey))
    assert title == "问卷即将截止：暑期教工活动意见征集" and "已经填写的请忽略" in text

    owned = dict(entitlement_id="p1:m1", plan_id="p1", member_id="m1", campus="main", year=2027)
    created = EntitlementCreated(**owned, standard_fen=30_000, late=False)
    title, text = _text(created)
    assert title == "2027年节日福利：请选择礼品" and "标准300.00元" in text
    assert TABLE.routes[created.type].facts(created, AT).member_id == "m1"
    issued = EntitlementIssued(**owned, option="zongzi", amount_fen=29_800, ledger_entry="l1")
    title, text = _text(issued)
    assert title == "2027年节日福利已发放" and "（价值298.00元）已发放" in text

    booked = dict(booking_id="x:m1", plan_id="x", member_id="m1", campus="main", slot="a")
    title, text = _text(ExamBooked(**booked, day=date(2027, 3, 10), package="basic"))
    assert title == "体检预约成功：2027年3月10日" and "您已预约了2027年3月10日的年度体检" in text
    moved = ExamBooked(**booked, day=date(2027, 3, 12), package="basic", moved_from="b")
    assert "您已改约到2027年3月12日" in _text(moved)[1]


def test_security_notices_are_mandatory_and_say_when_in_beijing_time_without_a_link():
    at = datetime(2027, 4, 12, 1, 3, tzinfo=UTC)  # 09:03 Beijing time
    changed = PasswordChanged(member_id="m1", campus="main")
    locked = AccountLocked(member_id="m1", campus="main", locked_until=at + timedelta(minutes=15))
    opted_out = Preferences(channels={"account": []})
    texts = {}
    for event in (changed, locked):
        route = TABLE.routes[event.type]
        assert route.audience is Audience.member and route.category is Category.account
        assert channels_for(route, opted_out) == [ChannelName.inbox, ChannelName.email]
        facts = route.facts(event, at)  # the envelope's time, as every route is given it
        default = DEFAULTS[route.template]
        assert facts.member_id == "m1" and set(facts.variables) | {"name"} == set(default.sample)
        rendered = render(
            TemplateText(default.title, default.body), {"name": "李娜", **facts.variables}
        )
        assert rendered.text.startswith("李娜，您好！") and "如非本人操作" in rendered.text
        assert "://" not in rendered.text and "联系本校区工会" in rendered.text
        texts[event.type] = rendered
    assert texts[changed.type].title == "您的工会平台登录密码已修改"
    assert "已于4月12日 09:03（北京时间）修改" in texts[changed.type].text
    assert texts[locked.type].title == "您的工会平台账号已暂时锁定"
    assert "于4月12日 09:03（北京时间）因连续多次输错密码被暂时锁定" in texts[locked.type].text
    assert "4月12日 09:18（北京时间）后自动解锁" in texts[locked.type].text


def test_welcome_text():
    welcome = DEFAULTS["welcome"]
    text = render(
        TemplateText(welcome.title, welcome.body), {"name": "王", "joined_on": "2026年9月1日"}
    )
    assert text.title == "欢迎加入学校工会"
    assert text.text.startswith("王，您好！您已于2026年9月1日成为学校工会会员")


def test_a_template_with_an_unknown_variable_is_refused_with_its_line():
    with pytest.raises(Invalid) as refused:
        validate("welcome", TemplateText("欢迎", "{{ name }}，您好！\n您的工资是{{ salary }}"))
    assert refused.value.code == "template.invalid"
    assert "第2行" in refused.value.message and "salary" in refused.value.message


def test_a_template_with_a_syntax_error_is_refused_with_its_line():
    with pytest.raises(Invalid) as refused:
        validate("welcome", TemplateText("欢迎", "第一行\n第二行\n{% if name %}没有结束"))
    assert "语法错误" in refused.value.message
    assert refused.value.details["line"] >= 3


def test_the_sandbox_refuses_reaching_into_python():
    with pytest.raises(Invalid):
        validate("welcome", TemplateText("欢迎", "{{ name.__class__.__mro__ }}"))


def _at(hour: int, minute: int = 0, second: int = 0, day: int = 5) -> datetime:
    return datetime(2026, 12, day, hour, minute, second, tzinfo=SHANGHAI).astimezone(UTC)


def test_quiet_hours_defer_to_seven_in_the_morning():
    quiet = QuietHours()
    assert quiet.ends_after(_at(23, 30)) == _at(7, 0, day=6)
    assert quiet.ends_after(_at(6, 59)) == _at(7, 0)
    assert quiet.ends_after(_at(22, 0)) == _at(7, 0, day=6)
    assert quiet.ends_after(_at(7, 0)) is None
    assert quiet.ends_after(_at(12, 0)) is None
    assert QuietHours(enabled=False).ends_after(_at(23)) is None
    # A daytime window (a nap from 12:00 to 13:30) works too.
    nap = QuietHours(start=time(12), end=time(13, 30))
    assert nap.ends_after(_at(12, 10)) == _at(13, 30) and nap.ends_after(_at(23)) is None


def test_quiet_hours_defer_wecom_and_sms_never_the_inbox_or_email():
    prefs, night = Preferences(), _at(23, 30)
    assert send_after(ChannelName.wecom, prefs, night) == _at(7, 0, day=6)
    assert send_after(ChannelName.sms, prefs, night) == _at(7, 0, day=6)
    assert send_after(ChannelName.inbox, prefs, night) == night
    assert send_after(ChannelName.email, prefs, night) == night


def test_a_retry_or_an_outage_wait_falling_in_quiet_hours_moves_to_their_end():
    # The delivery worker passes every time it sets through send_after, as the dispatcher does.
    prefs = Preferences()
    status, retry = after_failure(1, 5, _at(21, 50), 900)  # 15 minutes: 22:05
    assert status is DeliveryStatus.queued and retry == _at(22, 5)
    assert send_after(ChannelName.wecom, prefs, retry) == _at(7, 0, day=6)
    assert send_after(ChannelName.sms, prefs, _at(21, 59, 45) + OUTAGE_WAIT) == _at(7, 0, day=6)
    assert send_after(ChannelName.email, prefs, retry) == retry  # e-mail does not ring
    # Before they begin, and from their end on, the time stays as it is.
    assert send_after(ChannelName.wecom, prefs, _at(21, 50) + OUTAGE_WAIT) == _at(21, 50, 30)
    assert send_after(ChannelName.wecom, prefs, _at(7, 0, day=6)) == _at(7, 0, day=6)
    assert send_after(ChannelName.wecom, prefs, _at(6, 59, day=6)) == _at(7, 0, day=6)
    # The member's own hours, not the default ones.
    late = Preferences(quiet=QuietHours(start=time(21, 30), end=time(7, 30)))
    assert send_after(ChannelName.wecom, late, _at(21, 50, 30)) == _at(7, 30, day=6)
    off = Preferences(quiet=QuietHours(enabled=False))
    assert send_after(ChannelName.wecom, off, retry) == retry


def test_opting_out_removes_a_channel_unless_the_route_is_mandatory():
    opted_out = Preferences(channels={"activity": ["inbox"]})
    promoted = TABLE.routes["events.registration.promoted.v1"]
    cancelled = TABLE.routes["events.activity.cancelled.v1"]
    assert channels_for(promoted, opted_out) == [ChannelName.inbox]
    assert channels_for(promoted, Preferences()) == list(promoted.channels)
    assert channels_for(cancelled, opted_out) == list(cancelled.channels)  # mandatory


def test_a_failing_delivery_backs_off_then_fails_after_n():
    now = datetime(2026, 12, 5, tzinfo=UTC)
    assert backoff(1, 30) == timedelta(seconds=30)
    assert backoff(3, 30) == timedelta(seconds=120)
    assert backoff(30, 30) == timedelta(hours=1)
    assert after_failure(2, 3, now, 30) == (DeliveryStatus.queued, now + timedelta(seconds=60))
    assert after_failure(3, 3, now, 30) == (DeliveryStatus.failed, None)
    assert delivery_id("e1", "m1", "email") == "e1:m1:email"


def _cancelled(reason: str) -> RegistrationCancelled:
    base = {
        "registration_id": "r",
        "activity_id": "a",
        "activity_title": "t",
        "member_id": "m",
        "member_campus": "main",
        "department": "d",
        "guests": 0,
        "status": "cancelled",
        "seats_freed": 1,
    }
    return RegistrationCancelled(**base, reason=reason)


def test_routes_skip_what_another_route_says():
    cancelled = TABLE.routes[RegistrationCancelled.type]
    assert not cancelled.when(_cancelled("activity_cancelled"))
    assert cancelled.when(_cancelled("member"))


def test_a_registration_cancelled_because_its_member_left_is_told_nobody():
    # events cancels a withdrawn or deceased member's registrations with `member_left`; the
    # route's audience is the member, whatever their status, so only `when` keeps it quiet.
    route = TABLE.routes[RegistrationCancelled.type]
    assert route.audience is Audience.member
    assert not route.when(_cancelled("member_left"))
    assert route.when(_cancelled("member")) and route.when(_cancelled("cadre"))


def test_a_proposal_is_told_to_its_proposer_only_when_replied():
    route = TABLE.routes[ProposalMoved.type]
    moved = {"proposal_id": "p", "session_id": "s", "campus": "*", "proposer_id": "m-1"}
    told = [
        s
        for s in ("drafted", "submitted", "assigned", "replied", "rated")
        if route.when(ProposalMoved(**moved, status=s, number=3, department="后勤处"))
    ]
    assert told == ["replied"]
    facts = route.facts(ProposalMoved(**moved, status="replied", number=3, department="后勤处"), AT)
    assert route.audience is Audience.member and facts.member_id == "m-1"
    assert facts.variables == {"number": 3, "department": "后勤处"}
    result = TABLE.routes[CampaignResultPublished.type]
    assert result.audience is Audience.campus_members


def test_a_suggestion_reply_is_told_to_a_named_writer_only():
    route = TABLE.routes[SuggestionReplied.type]
    facts = {"suggestion_id": "s", "campus": "main", "title": "建议", "status": "replied"}
    named = SuggestionReplied(**facts, anonymous=False, member_id="m-1")
    assert route.when(named) and route.facts(named, AT).member_id == "m-1"
    assert route.facts(named, AT).variables == {"title": "建议"}
    assert not route.when(SuggestionReplied(**facts, anonymous=True))


def test_the_audience_rule_of_an_activity():
    member = {
        "campus": "main",
        "department": "艺术系",
        "gender": "female",
        "status": "active",
        "roles": [],
        "small_group": "g-art",
        "birth_year": 1980,
    }
    assert eligible(member, {}, "main", 2026)
    assert not eligible(member, {}, "east", 2026)
    assert eligible(member, {}, "*", 2026)
    assert not eligible(member, {"gender": "male"}, "main", 2026)
    assert not eligible(member, {"departments": ["音乐系"]}, "main", 2026)
    assert not eligible({**member, "status": "retired"}, {}, "main", 2026)
    assert eligible({**member, "status": "retired"}, {"statuses": ["retired"]}, "main", 2026)
    assert not eligible(member, {"age_max": 40}, "main", 2026)
    assert eligible(member, {"small_groups": ["g-art"]}, "main", 2026)


def test_production_refuses_a_channel_without_its_secret(monkeypatch, tmp_path):
    from services.notify.settings import NotifySettings

    monkeypatch.setenv("GONGHUI_ENV", "production")
    for name in (
        "AUTH_PUBLIC_KEY_FILE",
        "LINK_PRIVATE_KEY_FILE",
        "DATA_KEY_FILE",
        "WEBHOOK_KEY_FILE",
    ):
        monkeypatch.setenv(f"GONGHUI_{name}", str(tmp_path / "own.key"))  # not the dev keys
    assert NotifySettings().wecom_base_url == ""  # no WeCom configured: nothing to refuse
    monkeypatch.setenv("GONGHUI_WECOM_BASE_URL", "https://qyapi.weixin.qq.com")
    with pytest.raises(ValueError, match="GONGHUI_WECOM_SECRET"):
        NotifySettings()
    monkeypatch.setenv("GONGHUI_WECOM_SECRET", "dev-secret")
    with pytest.raises(ValueError, match="GONGHUI_WECOM_SECRET"):
        NotifySettings()
    monkeypatch.setenv("GONGHUI_WECOM_SECRET", "a-real-one")
    monkeypatch.setenv("GONGHUI_SMS_BASE_URL", "https://sms.example")
    with pytest.raises(ValueError, match="GONGHUI_SMS_API_KEY"):
        NotifySettings()
    monkeypatch.setenv("GONGHUI_SMS_API_KEY", "k-1")
    assert NotifySettings().sms_base_url == "https://sms.example"


def test_the_integration_page_lists_every_route_and_every_unrouted_type():
    from pathlib import Path

    page = (Path(__file__).parents[2] / "docs/integration/notifications.md").read_text()
    for event_type in [*TABLE.routes, *UNROUTED]:
        assert f"`{event_type}`" in page, f"{event_type} missing from the routing table page"
