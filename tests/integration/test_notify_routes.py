"""Notify's routes on the real broker and database: each event in → the right recipients, the
rendered zh-CN text, the right channels (WeCom and SMS reach a local server); mandatory versus
opted out; quiet hours; one delivery per (event, recipient, channel); a failing channel ends
failed after N attempts and a cadre retries it."""

from __future__ import annotations

import asyncio
import itertools
import json
import mailbox
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, time, timedelta
from email.header import decode_header, make_header
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox

from deploy.local.infra import free_port
from services.notify.channels.base import Message
from services.notify.delivery.store import Deliveries
from services.notify.delivery.worker import DeliveryWorker
from services.notify.notices.handlers import on_routed_event
from services.notify.preferences.domain import Preferences, QuietHours
from services.notify.preferences.store import PreferenceStore
from services.notify.routing.contacts import Contacts
from services.notify.routing.domain import ChannelName
from services.notify.templates.store import Templates
from shared.events import sequence_of
from shared.events.events import (
    ActivityCancelled,
    ActivityChanged,
    ActivityPublished,
    EligibilityFacts,
    RegistrationCancelled,
    RegistrationConfirmed,
    RegistrationPromoted,
    RegistrationWaitlisted,
)
from shared.events.members import (
    AccountLocked,
    ContactChanged,
    EmailChangeRequested,
    MemberApplied,
    MemberUpdated,
    PasswordChanged,
)
from shared.events.voice import (
    CampaignResultPublished,
    Elected,
    ProposalMoved,
    SuggestionReplied,
    SurveyClosingSoon,
    SurveyOpened,
)
from shared.events.welfare import BirthdayBenefitOffered, BudgetThresholdReached, CaseApproved
from shared.events.welfare_exams import ExamBooked, ExamBookingReminderRequested
from shared.events.welfare_plans import EntitlementCreated, EntitlementIssued
from shared.timeutil import SHANGHAI
from tests.integration.conftest import Stack, bearer, build_stack, close_stack
from tests.integration.notify_kit import ChannelServer, channel_server, publish
from tests.integration.test_accounts import mails_to
from tests.kafka_tools import wait_caught_up, wait_until

pytestmark = pytest.mark.integration

MAX_ATTEMPTS = 3
_n = itertools.count(1)


@pytest.fixture(scope="module")
def mail(tmp_path_factory) -> Iterator[tuple[int, Path]]:
    """The module's own SMTP catcher (port, Maildir): the e-mails notify sent, to read."""
    maildir = tmp_path_factory.mktemp("notify-routes") / "mail"
    catcher = Controller(Mailbox(maildir), hostname="127.0.0.1", port=free_port())
    catcher.start()
    try:
        yield catcher.port, maildir
    finally:
        catcher.stop()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def site(infra, mail) -> AsyncIterator[tuple[Stack, ChannelServer]]:
    with channel_server() as server:
        over = {
            "smtp_host": "127.0.0.1",
            "smtp_port": mail[0],
            "wecom_base_url": server.url,
            "wecom_corp_id": "corp-1",
            "wecom_agent_id": 1000002,
            "wecom_secret": "app-secret",
            "sms_base_url": server.url,
            "sms_api_key": "sms-key",
            "delivery_backoff_s": 0.05,
            "delivery_poll_s": 0.1,
            "delivery_max_attempts": MAX_ATTEMPTS,
        }
        stack = await build_stack(infra, ["notify"], settings={"notify": over})
        try:
            yield stack, server
        finally:
            await close_stack(stack)


def uid(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def member(
    stack: Stack,
    *,
    campus: str = "main",
    department: str = "艺术系",
    gender: str = "female",
    roles: list[str] | None = None,
    name: str = "张颖",
    email: bool = True,
    wecom: bool = True,
    phone: bool = True,
    quiet: dict[str, Any] | None = None,
    channels: dict[str, list[str]] | None = None,
) -> str:
    """A member notify knows (from members.member and members.contact), with settings."""
    mid = uid("m")
    facts = dict(
        member_id=mid,
        staff_no=f"T{next(_n):05d}",
        name=name,
        campus=campus,
        department=department,
        gender=gender,
        status="active",
        roles=roles or [],
        birth_year=1985,
        changed=[],
    )
    await publish(stack, MemberUpdated(**facts), subject=mid, campus=campus)
    contact = ContactChanged(
        member_id=mid,
        name=name,
        campus=campus,
        email=f"{mid}@school.local" if email else None,
        wecom_userid=f"wx-{mid}" if wecom else None,
        phone="13800000000" if phone else None,
    )
    await publish(stack, contact, subject=mid, campus=campus)
    body = {
        "channels": channels or {},
        "quiet_hours": quiet or {"enabled": False, "start": "22:00", "end": "07:00"},
    }
    saved = await stack.notify_http.put(
        "/me/notification-settings", json=body, headers=stack.member_headers(mid, campus)
    )
    assert saved.status_code == 200, saved.text
    db = stack.notify.db

    async def known() -> bool:
        return bool(
            await db["member_directory"].find_one({"_id": mid})
            and await db["contacts"].find_one({"_id": mid})
        )

    await wait_until(known, 30, f"notify to know {mid}")
    return mid


async def inbox(stack: Stack, mid: str) -> list[dict]:
    got = await stack.notify_http.get("/inbox", headers=stack.member_headers(mid))
    assert got.status_code == 200, got.text
    return got.json()


async def wait_message(stack: Stack, mid: str, title: str) -> dict:
    async def arrived() -> bool:
        return any(m["title"] == title for m in await inbox(stack, mid))

    await wait_until(arrived, 30, f"「{title}」 in {mid}'s inbox")
    [message] = [m for m in await inbox(stack, mid) if m["title"] == title]
    return message


async def deliveries(stack: Stack, event_id: str) -> dict[tuple[str, str], dict]:
    docs = await stack.notify.db["deliveries"].find({"event_id": event_id}).to_list()
    return {(d["member_id"], d["channel"]): d for d in docs}


async def settled(stack: Stack, event_id: str, count: int) -> dict[tuple[str, str], dict]:
    """Wait until the event has `count` deliveries and none is queued and due."""

    async def done() -> bool:
        found = await deliveries(stack, event_id)
        now = datetime.now(UTC)
        waiting = [
            d
            for d in found.values()
            if d["status"] == "queued" and d["next_at"].replace(tzinfo=UTC) <= now
        ]
        return len(found) == count and not waiting

    await wait_until(done, 30, f"{count} settled deliveries of {event_id}")
    return await deliveries(stack, event_id)


def wecom_to(server: ChannelServer, touser: str) -> list[str]:
    return [
        r.body["text"]["content"]
        for r in server.sent("/cgi-bin/message/send")
        if r.body.get("touser") == touser
    ]


def activity(**over: Any) -> dict[str, Any]:
    start = datetime(2027, 4, 12, 1, 0, tzinfo=UTC)  # 09:00 Beijing time
    return {
        "activity_id": uid("a"),
        "kind": "outing",
        "kind_label": "春游秋游",
        "title": "春季踏青",
        "campus": "main",
        "venue": "植物园",
        "starts_at": start,
        "ends_at": start + timedelta(hours=7),
        "signup_closes_at": start - timedelta(days=2),
        "capacity": 30,
        "waitlist": True,
        "guests_max": 1,
        "eligibility": EligibilityFacts(),
        "status": "published",
        **over,
    }


def registration(mid: str, activity_id: str, status: str = "confirmed", **over: Any) -> dict:
    return {
        "registration_id": uid("r"),
        "activity_id": activity_id,
        "activity_title": "春季踏青",
        "member_id": mid,
        "member_campus": "main",
        "department": "艺术系",
        "guests": 1,
        "status": status,
        **over,
    }


async def test_a_published_activity_reaches_its_eligible_audience_on_inbox_and_wecom(site):
    stack, server = site
    campus = f"c{next(_n)}"
    artist = await member(stack, campus=campus, department="艺术系", name="李娜")
    musician = await member(stack, campus=campus, department="音乐系")
    elsewhere = await member(stack, campus="east", department="艺术系")
    facts = activity(campus=campus, eligibility=EligibilityFacts(departments=["艺术系"]))
    envelope = await publish(
        stack, ActivityPublished(**facts), subject=facts["activity_id"], campus=campus
    )
    message = await wait_message(stack, artist, "新活动：春季踏青")
    assert message["body"] == (
        "李娜，您好！工会发布了新活动「春季踏青」（春游秋游）。时间：4月12日 09:00，地点：植物园。"
        "报名截止：4月10日 09:00。欢迎报名参加。"
    )
    found = await settled(stack, envelope.id, 2)
    assert set(found) == {(artist, "inbox"), (artist, "wecom")}  # no e-mail, no SMS: the route
    assert found[(artist, "wecom")]["status"] == "sent"
    [content] = wecom_to(server, f"wx-{artist}")
    assert content.startswith("新活动：春季踏青\n李娜，您好！")
    [token] = server.sent("/cgi-bin/gettoken")[:1]
    assert token.query == {"corpid": ["corp-1"], "corpsecret": ["app-secret"]}
    assert await inbox(stack, musician) == [] and await inbox(stack, elsewhere) == []


async def test_registration_events_reach_the_member_with_their_own_words(site):
    stack, server = site
    mid = await member(stack, name="王芳")
    activity_id = uid("a")
    cases = [
        (
            RegistrationConfirmed(**registration(mid, activity_id)),
            "报名成功：春季踏青",
            "王芳，您好！您已成功报名「春季踏青」，携带家属1人。活动当天请出示签到二维码。",
        ),
        (
            RegistrationWaitlisted(**registration(mid, activity_id, "waitlisted", waitlist_no=4)),
            "已进入候补：春季踏青",
            "候补号第4位",
        ),
        (
            RegistrationPromoted(**registration(mid, activity_id)),
            "候补转正：春季踏青",
            "候补已转正",
        ),
        (
            RegistrationCancelled(
                **registration(mid, activity_id, "cancelled", reason="cadre", seats_freed=2)
            ),
            "报名已取消：春季踏青",
            "（工会干部取消）",
        ),
    ]
    for event, title, words in cases:
        envelope = await publish(
            stack, event, subject=event.registration_id, campus="main", key=activity_id
        )
        message = await wait_message(stack, mid, title)
        assert words in message["body"]
        channels = (
            {"inbox", "wecom", "sms"}
            if isinstance(event, RegistrationPromoted)
            else {"inbox", "wecom"}
        )
        found = await settled(stack, envelope.id, len(channels))
        assert {c for _, c in found} == channels
        assert all(d["status"] == "sent" for d in found.values())
    sms = [r for r in server.sent("/v1/messages") if r.body["content"].find("候补转正") >= 0]
    assert sms and sms[0].headers["Authorization"] == "Bearer sms-key"
    assert sms[0].body["phone"] == "13800000000" and sms[0].body["sign"] == "学校工会"


async def test_an_activity_cancelled_is_mandatory_and_a_change_respects_opt_outs(site):
    stack, server = site
    keen = await member(stack)
    quiet_one = await member(stack, channels={"activity": ["inbox"]})  # opted out of WeCom/SMS
    facts = activity()
    aid = facts["activity_id"]
    for mid in (keen, quiet_one):
        await publish(
            stack,
            RegistrationConfirmed(**registration(mid, aid)),
            subject=uid("r"),
            campus="main",
            key=aid,
        )
        await wait_message(stack, mid, "报名成功：春季踏青")
    changed = await publish(
        stack,
        ActivityChanged(**{**facts, "venue": "东山公园"}, changed=["venue"]),
        subject=aid,
        campus="main",
        version=2,
    )
    message = await wait_message(stack, quiet_one, "活动变更：春季踏青")
    assert "（地点）" in message["body"] and "地点：东山公园" in message["body"]
    found = await settled(stack, changed.id, 4)
    assert {c for m, c in found if m == quiet_one} == {"inbox"}  # opted out: inbox only
    assert {c for m, c in found if m == keen} == {"inbox", "wecom", "sms"}

    cancelled = await publish(
        stack,
        ActivityCancelled(**{**facts, "status": "cancelled"}, reason="天气原因"),
        subject=aid,
        campus="main",
        version=3,
    )
    message = await wait_message(stack, quiet_one, "活动取消：春季踏青")
    assert "原因：天气原因" in message["body"]
    found = await settled(stack, cancelled.id, 6)
    # Mandatory: the member who opted out hears it on every channel all the same.
    assert {c for m, c in found if m == quiet_one} == {"inbox", "wecom", "sms"}
    assert wecom_to(server, f"wx-{quiet_one}")[-1].startswith("活动取消：春季踏青")
    # The registrations it cancels are not announced a second time.
    again = RegistrationCancelled(
        **registration(keen, aid, "cancelled", reason="activity_cancelled", seats_freed=1)
    )
    told = await publish(stack, again, subject=again.registration_id, campus="main", key=aid)
    await wait_until(lambda: _consumed(stack, told.id), 30, "the cancellation to be handled")
    assert await deliveries(stack, told.id) == {}


async def test_budget_threshold_reaches_finance_and_an_application_the_campus_cadres(site):
    stack, _ = site
    campus = f"c{next(_n)}"
    finance = await member(stack, campus=campus, roles=["finance"], name="朱琳")
    cadre = await member(stack, campus=campus, roles=["vice_chair"], name="高萍")
    teacher = await member(stack, campus=campus)
    event = BudgetThresholdReached(
        campus=campus,
        year=2027,
        line="501-02",
        threshold_pct=90,
        budget_fen=2_000_000,
        spent_fen=1_820_000,
        seq=7,
    )
    envelope = await publish(stack, event, subject=f"{campus}:2027", campus=campus)
    message = await wait_message(stack, finance, "预算预警：2027年度科目501-02已用90%")
    assert "已使用18,200.00元，占预算20,000.00元的90%以上" in message["body"]
    found = await settled(stack, envelope.id, 2)
    assert set(found) == {(finance, "inbox"), (finance, "email")}
    assert found[(finance, "email")]["status"] == "sent"

    applied = MemberApplied(
        member_id=uid("m"),
        staff_no="T9",
        name="周敏",
        campus=campus,
        department="音乐系",
        status="applied",
        applied_on=datetime(2027, 3, 2).date(),
    )
    await publish(stack, applied, subject=applied.member_id, campus=campus)
    message = await wait_message(stack, cadre, "入会申请待审批：周敏")
    assert message["body"].startswith("高萍，您好！音乐系的周敏于2027年3月2日提交了入会申请")
    assert await inbox(stack, teacher) == [] and await inbox(stack, finance) != []


def survey(campus: str, **over: Any) -> dict[str, Any]:
    opens = datetime(2027, 6, 1, 0, 0, tzinfo=UTC)  # 08:00 Beijing time
    return {
        "survey_id": uid("s"),
        "title": "暑期教工活动意见征集",
        "campus": campus,
        "anonymous": True,
        "opens_at": opens,
        "closes_at": opens + timedelta(days=14, hours=10),
        "audience": EligibilityFacts(),
        "questions": 8,
        **over,
    }


async def test_a_survey_reaches_its_audience_when_it_opens_and_before_it_closes(site):
    stack, server = site
    campus = f"c{next(_n)}"
    artist = await member(stack, campus=campus, department="艺术系", name="李娜")
    inbox_only = await member(stack, campus=campus, channels={"survey": ["inbox"]})
    musician = await member(stack, campus=campus, department="音乐系")
    elsewhere = await member(stack, campus="east", department="艺术系")
    facts = survey(campus, audience=EligibilityFacts(departments=["艺术系"]))
    sid = facts["survey_id"]
    opened = await publish(stack, SurveyOpened(**facts), subject=sid, campus=campus)
    message = await wait_message(stack, artist, "问卷邀请：暑期教工活动意见征集")
    assert message["body"] == (
        "李娜，您好！工会问卷「暑期教工活动意见征集」已开始填写（匿名），共8题，6月15日 18:00截止。"
        "请在「我的 › 问卷与意见征集」中填写，您的意见对工会很重要。"
    )
    found = await settled(stack, opened.id, 3)
    assert set(found) == {(artist, "inbox"), (artist, "wecom"), (inbox_only, "inbox")}
    assert wecom_to(server, f"wx-{artist}")[0].startswith("问卷邀请：暑期教工活动意见征集\n")

    closing = await publish(
        stack, SurveyClosingSoon(**facts), subject=sid, campus=campus, version=2
    )
    message = await wait_message(stack, inbox_only, "问卷即将截止：暑期教工活动意见征集")
    assert "将于6月15日 18:00截止" in message["body"]
    found = await settled(stack, closing.id, 3)
    assert {c for m, c in found if m == inbox_only} == {"inbox"}  # opted out of WeCom
    assert {c for m, c in found if m == artist} == {"inbox", "wecom"}
    assert await inbox(stack, musician) == [] and await inbox(stack, elsewhere) == []


async def test_a_campaign_result_reaches_its_campus_and_a_reply_its_proposer_alone(site):
    stack, _server = site
    campus = f"c{next(_n)}"
    proposer = await member(stack, campus=campus, name="赵磊")
    colleague = await member(stack, campus=campus, channels={"voice": ["inbox"]})
    elsewhere = await member(stack, campus="east")
    cid = uid("cp")
    elected = [
        Elected(
            category_id="c1", nomination_id=uid("n"), member_id=proposer, campus=campus, votes=12
        )
    ]
    result = CampaignResultPublished(
        campaign_id=cid, title="师德标兵评选", campus=campus, elected=elected
    )
    published = await publish(stack, result, subject=cid, campus=campus)
    message = await wait_message(stack, colleague, "评选结果公布：师德标兵评选")
    assert "结果已公布，共1人获评" in message["body"]
    found = await settled(stack, published.id, 3)
    assert set(found) == {(proposer, "inbox"), (proposer, "wecom"), (colleague, "inbox")}
    assert await inbox(stack, elsewhere) == []

    pid = uid("pr")
    moved: dict[str, Any] = {
        "proposal_id": pid,
        "session_id": uid("s"),
        "campus": campus,
        "number": 7,
        "proposer_id": proposer,
        "department": "后勤处",
    }
    assigned = await publish(
        stack,
        ProposalMoved(**moved, status="assigned", previous="accepted"),
        subject=pid,
        campus=campus,
    )
    replied = await publish(
        stack,
        ProposalMoved(**moved, status="replied", previous="assigned"),
        subject=pid,
        campus=campus,
        version=2,
    )
    message = await wait_message(stack, proposer, "提案已答复：第7号")
    assert message["body"].startswith("赵磊，您好！您提交的第7号提案已由后勤处答复。")
    found = await settled(stack, replied.id, 3)
    assert set(found) == {(proposer, "inbox"), (proposer, "wecom"), (proposer, "email")}
    assert await deliveries(stack, assigned.id) == {}  # steps in between are not told
    assert [m["title"] for m in await inbox(stack, colleague)] == ["评选结果公布：师德标兵评选"]


async def test_an_approved_case_and_a_birthday_reach_the_member_but_a_death_nobody(site):
    stack, _server = site
    mid = await member(stack, name="陈静")
    gone = await member(stack)
    case = {"member_id": mid, "campus": "main", "kind": "illness", "amount_fen": 50_000}
    cid = uid("case")
    approved = await publish(stack, CaseApproved(case_id=cid, **case), subject=cid, campus="main")
    message = await wait_message(stack, mid, "工会慰问：生病住院慰问")
    assert message["body"].startswith(
        "陈静，您好！工会为您办理的生病住院慰问已经批准，慰问金500.00元"
    )
    assert set(await settled(stack, approved.id, 2)) == {(mid, "inbox"), (mid, "wecom")}

    bid = uid("bd")
    offered = BirthdayBenefitOffered(
        benefit_id=bid,
        member_id=mid,
        campus="main",
        month="2027-03",
        amount_fen=20_000,
        choose_by=datetime(2027, 3, 20).date(),
    )
    told = await publish(stack, offered, subject=bid, campus="main")
    message = await wait_message(stack, mid, "生日快乐：3月生日福利")
    assert "价值200.00元的生日福利，请在2027年3月20日前" in message["body"]
    assert set(await settled(stack, told.id, 2)) == {(mid, "inbox"), (mid, "wecom")}

    death = {**case, "member_id": gone, "kind": "death_member"}
    did = uid("case")
    quiet = await publish(stack, CaseApproved(case_id=did, **death), subject=did, campus="main")
    # Published after the death's approval on the same partition key: once it is told, the
    # death's approval has been handled (and told nobody).
    after = await publish(stack, CaseApproved(case_id=did, **case), subject=did, campus="main")
    await settled(stack, after.id, 2)
    assert await deliveries(stack, quiet.id) == {} and await inbox(stack, gone) == []


async def test_a_reply_to_a_suggestion_reaches_its_named_writer_and_nobody_else(site):
    stack, _server = site
    writer = await member(stack, name="周敏")
    facts: dict[str, Any] = {"campus": "main", "title": "建议食堂延长供应时间"}
    anonymous_id, named_id = uid("sg"), uid("sg")
    anonymous = await publish(
        stack,
        SuggestionReplied(suggestion_id=anonymous_id, anonymous=True, status="replied", **facts),
        subject=anonymous_id,
        campus="main",
    )
    named = await publish(
        stack,
        SuggestionReplied(
            suggestion_id=named_id, anonymous=False, member_id=writer, status="replied", **facts
        ),
        subject=named_id,
        campus="main",
    )
    message = await wait_message(stack, writer, "意见建议已答复：建议食堂延长供应时间")
    assert message["body"].startswith(
        "周敏，您好！您提出的意见建议「建议食堂延长供应时间」已有答复"
    )
    assert set(await settled(stack, named.id, 2)) == {(writer, "inbox"), (writer, "wecom")}
    assert await deliveries(stack, anonymous.id) == {}  # handled (same box), told nobody


async def test_festival_welfare_and_an_exam_booking_reach_the_member_alone(site):
    stack, server = site
    mid = await member(stack, name="王芳")
    colleague = await member(stack)
    plan = uid("p")
    entitlement = f"{plan}:{mid}"
    owned: dict[str, Any] = {
        "entitlement_id": entitlement,
        "plan_id": plan,
        "member_id": mid,
        "campus": "main",
        "year": 2027,
    }
    created = await publish(
        stack,
        EntitlementCreated(**owned, standard_fen=30_000, late=False),
        subject=entitlement,
        campus="main",
    )
    message = await wait_message(stack, mid, "2027年节日福利：请选择礼品")
    assert message["body"].startswith("王芳，您好！工会发放2027年节日福利，您有一份标准300.00元")
    found = await settled(stack, created.id, 2)
    assert set(found) == {(mid, "inbox"), (mid, "wecom")}
    assert found[(mid, "wecom")]["status"] == "sent"

    issued = await publish(
        stack,
        EntitlementIssued(**owned, option="zongzi", amount_fen=29_800, ledger_entry=uid("l")),
        subject=entitlement,
        campus="main",
        version=3,
    )
    message = await wait_message(stack, mid, "2027年节日福利已发放")
    assert "您的2027年节日福利（价值298.00元）已发放" in message["body"]
    assert set(await settled(stack, issued.id, 2)) == {(mid, "inbox"), (mid, "wecom")}

    booking = ExamBooked(
        booking_id=f"{uid('x')}:{mid}",
        plan_id=uid("x"),
        member_id=mid,
        campus="main",
        slot="a",
        day=datetime(2027, 3, 10).date(),
        package="basic",
    )
    booked = await publish(stack, booking, subject=booking.booking_id, campus="main")
    message = await wait_message(stack, mid, "体检预约成功：2027年3月10日")
    assert message["body"].startswith("王芳，您好！您已预约了2027年3月10日的年度体检。")
    assert set(await settled(stack, booked.id, 2)) == {(mid, "inbox"), (mid, "wecom")}
    assert len(wecom_to(server, f"wx-{mid}")) == 3
    assert await inbox(stack, colleague) == []


async def test_a_reminder_to_book_the_exam_reaches_the_listed_members_only(site):
    stack, server = site
    late = await member(stack, name="王芳")
    inbox_only = await member(stack, channels={"reminder": ["inbox"]})
    booked = await member(stack)
    event = ExamBookingReminderRequested(
        plan_id="main:2027",
        campus="main",
        year=2027,
        title="2027年度教职工体检",
        requested_on=datetime(2027, 3, 1).date(),
        last_day=datetime(2027, 6, 30).date(),
        member_ids=[late, inbox_only],
    )
    envelope = await publish(stack, event, subject=event.plan_id, campus="main")
    message = await wait_message(stack, late, "请预约2027年度体检")
    assert message["body"].startswith(
        "王芳，您好！「2027年度教职工体检」正在预约，您还没有预约体检。"
    )
    assert "体检时段安排至2027年6月30日" in message["body"]
    await wait_message(stack, inbox_only, "请预约2027年度体检")
    found = await settled(stack, envelope.id, 3)
    assert set(found) == {
        (late, "inbox"),
        (late, "wecom"),
        (inbox_only, "inbox"),  # the channels the member keeps for reminders
    }
    assert len(wecom_to(server, f"wx-{late}")) == 1 and wecom_to(server, f"wx-{inbox_only}") == []
    assert await inbox(stack, booked) == []


async def test_quiet_hours_defer_wecom_and_sms_but_not_the_inbox(site):
    stack, server = site
    now = datetime.now(SHANGHAI)
    window = {
        "enabled": True,
        "start": f"{now - timedelta(hours=1):%H:%M}",
        "end": f"{now + timedelta(hours=2):%H:%M}",
    }
    mid = await member(stack, quiet=window)
    event = RegistrationPromoted(**registration(mid, uid("a")))
    envelope = await publish(stack, event, subject=event.registration_id, campus="main")
    await wait_message(stack, mid, "候补转正：春季踏青")
    found = await settled(stack, envelope.id, 3)
    assert found[(mid, "inbox")]["status"] == "sent"
    for channel in ("wecom", "sms"):
        waiting = found[(mid, channel)]
        assert waiting["status"] == "queued"
        end = now.replace(second=0, microsecond=0) + timedelta(hours=2)
        assert waiting["next_at"].replace(tzinfo=UTC) == end.astimezone(UTC)
    assert wecom_to(server, f"wx-{mid}") == []


async def test_the_same_event_twice_makes_one_delivery_per_recipient_and_channel(site):
    stack, server = site
    mid = await member(stack)
    event = RegistrationConfirmed(**registration(mid, uid("a")))
    envelope = await publish(stack, event, subject=event.registration_id, campus="main")
    await settled(stack, envelope.id, 2)
    # Redelivered by Kafka, and replayed straight into the handler (past the consumer's
    # processed-event marker): the unique key holds either way.
    await publish(stack, event, subject=event.registration_id, campus="main", envelope=envelope)
    await on_routed_event(event, envelope, stack.notify.context.dispatcher)
    await on_routed_event(event, envelope, stack.notify.context.dispatcher)
    group = stack.notify.settings.consumer_group
    await wait_caught_up(stack.bootstrap, group, stack.topic("events.registration"))
    found = await settled(stack, envelope.id, 2)
    assert len(found) == 2
    assert len(await inbox(stack, mid)) == 1
    assert len(wecom_to(server, f"wx-{mid}")) == 1


async def test_a_failing_channel_ends_failed_after_n_attempts_and_a_cadre_retries_it(site):
    stack, server = site
    mid = await member(stack, email=False, phone=False)
    server.fail = True
    try:
        event = RegistrationConfirmed(**registration(mid, uid("a")))
        envelope = await publish(stack, event, subject=event.registration_id, campus="main")
        key = f"{envelope.id}:{mid}:wecom"

        async def failed() -> bool:
            doc = await stack.notify.db["deliveries"].find_one({"_id": key})
            return bool(doc and doc["status"] == "failed")

        await wait_until(failed, 30, "the WeCom delivery to fail")
        doc = await stack.notify.db["deliveries"].find_one({"_id": key})
        assert doc["failures"] == MAX_ATTEMPTS and "HTTP 500" in doc["last_error"]
    finally:
        server.fail = False
    cadre = bearer("cadre-1", ["cadre"], ["main"])
    listed = await stack.notify_http.get("/deliveries", params={"status": "failed"}, headers=cadre)
    assert listed.status_code == 200, listed.text
    [row] = [r for r in listed.json() if r["id"] == key]
    assert row["status_label"] == "发送失败" and row["channel_label"] == "企业微信"
    east = bearer("cadre-e", ["cadre"], ["east"])
    assert all(
        r["id"] != key
        for r in (
            await stack.notify_http.get("/deliveries", params={"status": "failed"}, headers=east)
        ).json()
    )
    refused = await stack.notify_http.post(f"/deliveries/{key}/retry", headers=east)
    assert refused.status_code == 404
    retried = await stack.notify_http.post(f"/deliveries/{key}/retry", headers=cadre)
    assert retried.status_code == 200, retried.text

    async def sent() -> bool:
        doc = await stack.notify.db["deliveries"].find_one({"_id": key})
        return bool(doc and doc["status"] == "sent")

    await wait_until(sent, 30, "the retried delivery")
    assert len(wecom_to(server, f"wx-{mid}")) == 1
    again = await stack.notify_http.post(f"/deliveries/{key}/retry", headers=cadre)
    assert again.status_code == 409 and again.json()["code"] == "delivery.not_failed"
    metrics = (await stack.notify_http.get("/metrics")).text
    assert 'gonghui_notify_deliveries_total{channel="wecom",status="failed"}' in metrics


async def test_the_inbox_pages_counts_unread_and_marks_all_read(site):
    stack, _ = site
    mid = await member(stack)
    aid = uid("a")
    for i in range(3):
        event = RegistrationWaitlisted(**registration(mid, aid, "waitlisted", waitlist_no=i + 1))
        await publish(stack, event, subject=event.registration_id, campus="main", key=aid)
    headers = stack.member_headers(mid)

    async def three() -> bool:
        return len(await inbox(stack, mid)) == 3

    await wait_until(three, 30, "three messages")
    count = await stack.notify_http.get("/inbox/unread-count", headers=headers)
    assert count.json() == {"unread": 3}
    first = (await inbox(stack, mid))[-1]
    await stack.notify_http.patch(f"/inbox/{first['id']}/read", headers=headers)
    page = await stack.notify_http.get(
        "/inbox", params={"unread_first": "true", "limit": 2}, headers=headers
    )
    assert [m["read"] for m in page.json()] == [False, False]
    rest = await stack.notify_http.get(
        "/inbox", params={"unread_first": "true", "limit": 2, "offset": 2}, headers=headers
    )
    assert [m["id"] for m in rest.json()] == [first["id"]]
    other = await stack.notify_http.post("/inbox/read-all", headers=stack.member_headers("x"))
    assert other.json() == {"marked": 0}  # another member marks nothing of theirs
    marked = await stack.notify_http.post("/inbox/read-all", headers=headers)
    assert marked.json() == {"marked": 2}
    assert (await stack.notify_http.get("/inbox/unread-count", headers=headers)).json() == {
        "unread": 0
    }
    read = await stack.notify.db["deliveries"].count_documents(
        {"member_id": mid, "channel": "inbox", "status": "read"}
    )
    assert read == 3


async def test_templates_are_validated_overridden_per_campus_and_previewed(site):
    stack, _ = site
    admin = bearer("admin-1", ["admin"], ["*"])
    bad = await stack.notify_http.put(
        "/templates/registration_confirmed/campuses/west",
        json={"title": "报名成功", "body": "{{ name }}您好\n{{ salary }}"},
        headers=admin,
    )
    assert bad.status_code == 422 and bad.json()["code"] == "template.invalid"
    assert "第2行" in bad.json()["title"]
    broken = await stack.notify_http.post(
        "/templates/welcome/preview", json={"title": "x", "body": "{% if name %}"}, headers=admin
    )
    assert broken.status_code == 422 and "语法错误" in broken.json()["title"]
    cadre = bearer("cadre-1", ["cadre"], ["west"])
    assert (
        await stack.notify_http.put(
            "/templates/registration_confirmed/campuses/west",
            json={"title": "x", "body": "y"},
            headers=cadre,
        )
    ).status_code == 403
    saved = await stack.notify_http.put(
        "/templates/registration_confirmed/campuses/west",
        json={
            "title": "【西校区】报名成功：{{ activity_title }}",
            "body": "{{ name }}老师：报名成功。",
        },
        headers=admin,
    )
    assert saved.status_code == 200 and saved.json()["title"] == "【西校区】报名成功：春季踏青"
    mid = await member(stack, campus="west", name="陈晨")
    event = RegistrationConfirmed(**registration(mid, uid("a"), member_campus="west"))
    await publish(stack, event, subject=event.registration_id, campus="west")
    message = await wait_message(stack, mid, "【西校区】报名成功：春季踏青")
    assert message["body"] == "陈晨老师：报名成功。"
    listed = await stack.notify_http.get("/templates/registration_confirmed", headers=cadre)
    assert [o["campus"] for o in listed.json()["overrides"]] == ["west"]
    reset = await stack.notify_http.delete(
        "/templates/registration_confirmed/campuses/west", headers=admin
    )
    assert reset.status_code == 204


async def test_a_campus_wording_that_fails_on_an_event_says_it_in_the_default_words(site):
    stack, server = site
    campus = f"c{next(_n)}"
    admin = bearer("admin-1", ["admin"], ["*"])
    # Validated against the sample (waitlist number 3): saved. A confirmed registration has
    # no waitlist number (""), and "" + 1 fails.
    saved = await stack.notify_http.put(
        f"/templates/registration_confirmed/campuses/{campus}",
        json={"title": "报名成功：{{ activity_title }}", "body": "候补第{{ waitlist_no + 1 }}位"},
        headers=admin,
    )
    assert saved.status_code == 200, saved.text
    mid = await member(stack, campus=campus, name="陈晨")
    event = RegistrationConfirmed(**registration(mid, uid("a"), member_campus=campus))
    envelope = await publish(stack, event, subject=event.registration_id, campus=campus)
    # The event is not dead-lettered: its member hears of it, in the default words.
    message = await wait_message(stack, mid, "报名成功：春季踏青")
    assert message["body"].startswith("陈晨，您好！您已成功报名「春季踏青」，携带家属1人。")
    found = await settled(stack, envelope.id, 2)
    assert {c: d["status"] for (_, c), d in found.items()} == {"inbox": "sent", "wecom": "sent"}
    [content] = wecom_to(server, f"wx-{mid}")  # the worker's rendering falls back too
    assert content.startswith("报名成功：春季踏青\n陈晨，您好！您已成功报名「春季踏青」")


async def test_a_new_address_sealed_for_its_confirmation_is_not_recorded_in_clear(site):
    stack, _ = site
    mid = await member(stack, name="赵敏")
    new = f"zhao-{mid}@example.com"
    # As members seals it for notify alone: the new address and the link's path.
    sealer = stack.notify.context.dispatcher.sealer
    sealed = sealer.seal(json.dumps({"to": new, "link_path": "/me/email/tok-1"}))
    event = EmailChangeRequested(
        member_id=mid,
        name="赵敏",
        campus="main",
        had_email=True,
        sealed_for_notify=sealed,
        expires_at=datetime.now(UTC) + timedelta(hours=1),
    )
    envelope = await publish(stack, event, subject=mid, campus="main")
    key = f"{envelope.id}:{mid}:email"

    async def mailed() -> bool:
        doc = await stack.notify.db["deliveries"].find_one({"_id": key})
        return bool(doc and doc["status"] == "sent")

    await wait_until(mailed, 30, "the confirmation mailed to the new address")
    doc = await stack.notify.db["deliveries"].find_one({"_id": key})
    assert doc["to"] == "z***@example.com"
    stored = json.dumps(doc, default=str, ensure_ascii=False)
    assert new not in stored and "tok-1" not in stored


async def _consumed(stack: Stack, event_id: str) -> bool:
    marker = f"services.notify.notices.handlers.on_routed_event:{event_id}"
    return bool(await stack.notify.db["processed_events"].find_one({"_id": marker}))


class CountingChannel:
    """A channel that counts what it is asked to send (the race is the database's)."""

    name = ChannelName.sms

    def __init__(self) -> None:
        self.sent: list[str] = []

    async def send(self, message: Message) -> None:
        await asyncio.sleep(0.01)
        self.sent.append(message.notice_id)


async def test_two_replicas_workers_send_each_delivery_once(site):
    stack, _ = site
    runtime = stack.notify
    db = runtime.client[f"{runtime.db.name}_race"]
    try:
        store, contacts = Deliveries(db), Contacts(db)
        # 10:00 Beijing time: outside m-race's (default) quiet hours whenever this runs.
        now = datetime(2026, 12, 5, 10, 0, tzinfo=SHANGHAI).astimezone(UTC)
        await db["contacts"].insert_one(
            {"_id": "m-race", "name": "赵", "campus": "main", "phone": "13900000000"}
        )
        docs: list[dict[str, Any]] = [
            {
                "_id": f"e{i}:m-race:sms",
                "event_id": f"e{i}",
                "event_type": "x",
                "template": "registration_promoted",
                "category": "activity",
                "member_id": "m-race",
                "campus": "main",
                "channel": "sms",
                "status": "queued",
                "tries": 0,
                "failures": 0,
                "next_at": now,
                "created_at": now,
                "sealed": None,
                "variables": {
                    "name": "赵",
                    "activity_title": "讲座",
                    "guests": 0,
                    "waitlist_no": 1,
                },
            }
            for i in range(20)
        ]
        assert len(await store.add_many(docs)) == 20
        assert await store.add_many(docs) == []  # the same deliveries again: none inserted
        channel = CountingChannel()
        workers = [
            DeliveryWorker(
                runtime.settings,
                store,
                contacts,
                PreferenceStore(db),
                Templates(db),
                {"sms": channel},
                runtime.context.dispatcher.sealer,
            )
            for _ in range(2)
        ]
        await asyncio.gather(
            *(w.run_once(now) for w in workers), *(w.run_once(now) for w in workers)
        )
        assert sorted(channel.sent) == sorted(d["_id"] for d in docs)  # each once
        assert await db["deliveries"].count_documents({"status": "sent"}) == 20
    finally:
        await runtime.client.drop_database(db.name)


async def test_an_sms_due_in_the_members_quiet_hours_waits_for_their_end_as_no_try(site):
    stack, _ = site
    runtime = stack.notify
    db = runtime.client[f"{runtime.db.name}_quiet"]
    try:
        store, key = Deliveries(db), "e-night:m-night:sms"
        night = datetime(2026, 12, 5, 22, 30, tzinfo=SHANGHAI).astimezone(UTC)
        end = datetime(2026, 12, 6, 6, 30, tzinfo=SHANGHAI).astimezone(UTC)
        await db["contacts"].insert_one(
            {"_id": "m-night", "name": "赵", "campus": "main", "phone": "13900000000"}
        )
        # The member's own hours (21:30–06:30), saved after the message was queued at 21:20.
        await PreferenceStore(db).save(
            "m-night", Preferences(quiet=QuietHours(start=time(21, 30), end=time(6, 30)))
        )
        doc = {
            "_id": key,
            "event_id": "e-night",
            "event_type": "x",
            "template": "registration_promoted",
            "category": "activity",
            "mandatory": False,
            "member_id": "m-night",
            "campus": "main",
            "channel": "sms",
            "status": "queued",
            "tries": 0,
            "failures": 0,
            "next_at": night - timedelta(minutes=70),
            "created_at": night - timedelta(minutes=70),
            "sealed": None,
            "variables": {"name": "赵", "activity_title": "讲座", "guests": 0, "waitlist_no": 1},
        }
        assert await store.add_many([doc])
        channel = CountingChannel()
        worker = DeliveryWorker(
            runtime.settings,
            store,
            Contacts(db),
            PreferenceStore(db),
            Templates(db),
            {"sms": channel},
            runtime.context.dispatcher.sealer,
        )
        assert await worker.run_once(night) == 1
        waiting = await store.get(key)
        assert waiting is not None and channel.sent == []
        assert waiting["status"] == "queued" and (waiting["tries"], waiting["failures"]) == (0, 0)
        assert waiting["next_at"].replace(tzinfo=UTC) == end
        assert await worker.run_once(end - timedelta(seconds=1)) == 0
        assert await worker.run_once(end) == 1
        assert channel.sent == [key]
        sent = await store.get(key)
        # The attempt put off was given back: the send at 06:30 is attempt 1 again.
        assert sent is not None and (sent["status"], sent["tries"]) == ("sent", 1)
    finally:
        await runtime.client.drop_database(db.name)


# -- security notices (安全提醒) ----------------------------------------------------------------
# Told on a channel whoever did it may not control (the e-mail on file), whatever the member's
# settings; with when it happened (the envelope's time) in Beijing time.

HAPPENED = datetime(2027, 3, 2, 23, 30, tzinfo=UTC)  # 3月3日 07:30 Beijing time


def mailed_to(maildir: Path, subject: str) -> list[str]:
    """Every address a mail with this subject went to."""
    return [
        str(m["To"])
        for m in mailbox.Maildir(maildir)
        if str(make_header(decode_header(m["Subject"]))) == subject
    ]


async def security_notice(
    site: tuple[Stack, ChannelServer], mail: tuple[int, Path], event_of: Any, title: str
) -> tuple[str, dict[tuple[str, str], dict], str]:
    """The member's event, published as happened at HAPPENED; their inbox text, the
    deliveries and the e-mail's text, once checked that the member alone was told, on the
    inbox and by e-mail, although they turned the category off."""
    stack, server = site
    mid = await member(stack, name="林静", channels={"account": []})  # 账号与安全: nothing
    bystander = await member(stack)
    address = f"{mid}@school.local"
    event = event_of(mid)
    envelope = event.envelope(
        source="members", subject=mid, campus="main", sequence=sequence_of(2)
    ).model_copy(update={"time": HAPPENED})
    await publish(stack, event, subject=mid, campus="main", envelope=envelope)
    message = await wait_message(stack, mid, title)
    found = await settled(stack, envelope.id, 2)
    assert set(found) == {(mid, "inbox"), (mid, "email")}  # mandatory: the opt-out ignored
    assert found[(mid, "email")]["status"] == "sent" and found[(mid, "email")]["to"] == address

    async def mailed() -> bool:
        return mailed_to(mail[1], title) != []

    await wait_until(mailed, 30, f"「{title}」 mailed to {mid}")
    [(_, body)] = [m for m in mails_to(mail[1], address) if m[0] == title]
    # Nobody else: one mail, to the member's address; no other inbox; no WeCom, no SMS.
    assert mailed_to(mail[1], title) == [address]
    assert await inbox(stack, bystander) == []
    assert wecom_to(server, f"wx-{mid}") == []
    return message["body"], found, body


async def test_a_password_change_is_told_to_the_member_by_inbox_and_email_without_secrets(
    site, mail
):
    told, found, mailed = await security_notice(
        site,
        mail,
        lambda mid: PasswordChanged(member_id=mid, campus="main"),
        "您的工会平台登录密码已修改",
    )
    for text in (told, mailed):
        assert text.startswith(
            "林静，您好！您在工会平台的登录密码已于3月3日 07:30（北京时间）修改。"
        )
        assert "如非本人操作" in text and "联系本校区工会" in text
        # Nothing secret: no link to click (what a phishing mail would have), no password.
        assert "://" not in text and "密码：" not in text and "密码是" not in text
    assert all(d["sealed"] is None for d in found.values())


async def test_an_account_locked_is_told_to_the_member_with_until_when(site, mail):
    until = HAPPENED + timedelta(minutes=15)
    told, _, mailed = await security_notice(
        site,
        mail,
        lambda mid: AccountLocked(member_id=mid, campus="main", locked_until=until),
        "您的工会平台账号已暂时锁定",
    )
    for text in (told, mailed):
        assert text.startswith(
            "林静，您好！您的工会平台账号于3月3日 07:30（北京时间）因连续多次输错密码被暂时锁定，"
            "3月3日 07:45（北京时间）后自动解锁"
        )
        assert "如非本人操作，可能有人在尝试猜测您的密码" in text and "://" not in text
