"""Reminders on the real broker and database: the schedules notify keeps from activity, plan,
entitlement and exam events; each reminder reaches the right people with its zh-CN text; two
notify replicas → one delivery per recipient and channel; a moved activity's reminder fires at
the new time, a cancelled one not at all; a replica started fresh sends what the database
holds. The clock is the job's `run.now` (injected): no test waits for a real hour."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from typing import Any

import pytest
import pytest_asyncio

from services.notify.bootstrap import bootstrap
from services.notify.reminders.handlers import reminders_job, send_due_reminders
from services.notify.reminders.store import Reminders
from services.notify.routing.table import TABLE
from services.notify.settings import NotifySettings
from shared.events.events import (
    ActivityCancelled,
    ActivityChanged,
    ActivityPublished,
    RegistrationCancelled,
    RegistrationConfirmed,
    RegistrationWaitlisted,
)
from shared.events.welfare_exams import ExamBooked, ExamCancelled
from shared.events.welfare_plans import (
    EntitlementChosen,
    EntitlementCreated,
    EntitlementVoided,
    PlanClosed,
    PlanPublished,
)
from shared.runtime import ServiceRuntime
from shared.scheduler import Every, Job, JobRun, Scheduler
from shared.timeutil import SHANGHAI
from tests.integration.conftest import Stack, build_stack, close_stack, settings_for
from tests.integration.notify_kit import ChannelServer, channel_server, publish
from tests.integration.test_notify_routes import activity, inbox, member, registration, uid
from tests.kafka_tools import wait_until

pytestmark = pytest.mark.integration


def _over(server: ChannelServer) -> dict[str, Any]:
    return {
        "wecom_base_url": server.url,
        "wecom_corp_id": "corp-1",
        "wecom_agent_id": 1000002,
        "wecom_secret": "app-secret",
        "delivery_poll_s": 0.1,
    }


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def site(infra) -> AsyncIterator[tuple[Stack, ChannelServer]]:
    with channel_server() as server:
        stack = await build_stack(infra, ["notify"], settings={"notify": _over(server)})
        try:
            yield stack, server
        finally:
            await close_stack(stack)


async def replica(stack: Stack, server: ChannelServer) -> ServiceRuntime:
    """Another notify process on the same database and consumer group."""
    settings = settings_for(NotifySettings, stack.infra, stack.prefix, **_over(server))
    runtime = bootstrap(settings, configure_logs=False)
    await runtime.start()
    return runtime


async def fire(runtime: ServiceRuntime, now: datetime) -> int:
    """One run of the reminder job at `now` in `runtime` (its dispatcher, its database)."""
    run = JobRun("notify.reminders", "test", 1, now)
    ctx = runtime.context
    return await send_due_reminders(Reminders(runtime.db), ctx.dispatcher, TABLE, run)


async def deliveries(stack: Stack, prefix: str) -> dict[tuple[str, str], dict]:
    docs = await stack.notify.db["deliveries"].find({"event_type": {"$regex": "^notify"}}).to_list()
    found: dict[tuple[str, str], dict] = {}
    for d in docs:
        if d["event_id"].startswith(prefix):
            assert (d["member_id"], d["channel"]) not in found, "a second delivery"
            found[(d["member_id"], d["channel"])] = d
    return found


async def schedule(stack: Stack, sid: str, **expected: Any) -> dict:
    coll = stack.notify.db["reminder_schedules"]

    async def kept() -> bool:
        doc = await coll.find_one({"_id": sid})
        return doc is not None and all(doc.get(k) == v for k, v in expected.items())

    await wait_until(kept, 30, f"schedule {sid} with {expected}")
    doc = await coll.find_one({"_id": sid})
    assert doc is not None
    return doc


async def registered(stack: Stack, registration_id: str, status: str) -> None:
    coll = stack.notify.db["registrations"]

    async def seen() -> bool:
        doc = await coll.find_one({"_id": registration_id})
        return doc is not None and doc["status"] == status

    await wait_until(seen, 30, f"registration {registration_id} {status}")


async def titled(stack: Stack, mid: str, title: str) -> list[dict]:
    """The member's messages with this title (their other messages come from the routes)."""
    return [m for m in await inbox(stack, mid) if m["title"] == title]


async def register(stack: Stack, mid: str, aid: str, event: type, status: str, **over: Any) -> str:
    rid = uid("r")
    facts = registration(mid, aid, status, registration_id=rid, **over)
    await publish(stack, event(**facts), subject=rid, campus="main", key=aid)
    await registered(stack, rid, status)
    return rid


async def test_activity_reminders_reach_confirmed_registrants_a_day_and_an_hour_before(site):
    stack, _ = site
    start = datetime(2031, 5, 20, 1, 0, tzinfo=UTC)  # 09:00 Beijing time
    facts = activity(starts_at=start, ends_at=start + timedelta(hours=3))
    aid = facts["activity_id"]
    keen = await member(stack, name="李娜")
    inbox_only = await member(stack, channels={"reminder": ["inbox"]})
    waiting, leaving = await member(stack), await member(stack)
    await publish(stack, ActivityPublished(**facts), subject=aid, campus="main")
    await register(stack, keen, aid, RegistrationConfirmed, "confirmed")
    await register(stack, inbox_only, aid, RegistrationConfirmed, "confirmed")
    await register(stack, waiting, aid, RegistrationWaitlisted, "waitlisted", waitlist_no=1)
    rid = await register(stack, leaving, aid, RegistrationConfirmed, "confirmed")
    cancelled = registration(
        leaving, aid, "cancelled", registration_id=rid, reason="member", seats_freed=2
    )
    await publish(
        stack, RegistrationCancelled(**cancelled), subject=rid, campus="main", key=aid, version=2
    )
    await registered(stack, rid, "cancelled")
    await schedule(stack, f"activity_24h:{aid}", active=True)

    day_before = f"reminder:activity_24h:{aid}@"
    await fire(stack.notify, start - timedelta(hours=25))  # too early
    assert await deliveries(stack, day_before) == {}
    await fire(stack.notify, start - timedelta(hours=23))
    found = await deliveries(stack, day_before)
    assert set(found) == {(keen, "inbox"), (keen, "wecom"), (inbox_only, "inbox")}
    [message] = await titled(stack, keen, "活动提醒：春季踏青")
    assert message["body"] == (
        "李娜，您好！您报名的「春季踏青」将于5月20日 09:00在植物园开始，请合理安排时间。"
        "如不能参加，请在「我的报名」中取消，把名额留给其他老师。"
    )
    for mid in (waiting, leaving):
        assert await titled(stack, mid, "活动提醒：春季踏青") == []
    # Later runs in its window make no delivery again (the worker may send a queued one
    # meanwhile: its status changes, not which deliveries there are).
    await fire(stack.notify, start - timedelta(hours=2))
    again = await deliveries(stack, day_before)
    assert {k: d["_id"] for k, d in again.items()} == {k: d["_id"] for k, d in found.items()}

    await fire(stack.notify, start - timedelta(minutes=30))
    found = await deliveries(stack, f"reminder:activity_1h:{aid}@")
    assert set(found) == {(keen, "inbox"), (keen, "wecom"), (inbox_only, "inbox")}
    titles = [m["title"] for m in await inbox(stack, inbox_only)]
    assert titles.count("活动即将开始：春季踏青") == 1 and titles.count("活动提醒：春季踏青") == 1


async def test_a_moved_activity_is_reminded_at_its_new_time_and_a_cancelled_one_not_at_all(site):
    stack, _ = site
    start = datetime(2031, 6, 10, 6, 0, tzinfo=UTC)  # 14:00 Beijing time
    moved_to = start + timedelta(days=2, hours=1)
    facts = activity(starts_at=start, ends_at=start + timedelta(hours=2))
    aid = facts["activity_id"]
    mid = await member(stack)
    await publish(stack, ActivityPublished(**facts), subject=aid, campus="main")
    await register(stack, mid, aid, RegistrationConfirmed, "confirmed")
    changed = {**facts, "starts_at": moved_to, "ends_at": moved_to + timedelta(hours=2)}
    await publish(
        stack,
        ActivityChanged(**changed, changed=["starts_at", "ends_at"]),
        subject=aid,
        campus="main",
        version=2,
    )
    await schedule(stack, f"activity_24h:{aid}", until=moved_to - timedelta(hours=1))

    prefix = f"reminder:activity_24h:{aid}@"
    await fire(stack.notify, start - timedelta(hours=23))  # the old time: nothing
    assert await deliveries(stack, prefix) == {}
    await fire(stack.notify, moved_to - timedelta(hours=23))
    found = await deliveries(stack, prefix)
    assert set(found) == {(mid, "inbox"), (mid, "wecom")}
    assert found[(mid, "inbox")]["event_id"] == f"{prefix}20310612T1400"
    [message] = await titled(stack, mid, "活动提醒：春季踏青")
    assert "将于6月12日 15:00在植物园开始" in message["body"]

    cancelled = {**changed, "status": "cancelled"}
    await publish(
        stack,
        ActivityCancelled(**cancelled, reason="场地维修"),
        subject=aid,
        campus="main",
        version=3,
    )
    await schedule(stack, f"activity_1h:{aid}", active=False)
    await fire(stack.notify, moved_to - timedelta(minutes=30))
    assert await deliveries(stack, f"reminder:activity_1h:{aid}@") == {}


async def test_the_gift_choice_reminder_reaches_only_who_has_not_chosen(site):
    stack, _ = site
    deadline = datetime(2031, 9, 20, 10, 0, tzinfo=UTC)  # 18:00 Beijing time
    plan_id = uid("pl")
    undecided = await member(stack, name="王芳")
    decided, gone = await member(stack), await member(stack)
    plan = {
        "plan_id": plan_id,
        "campus": "main",
        "campuses": ["main"],
        "festival": "mid_autumn",
        "year": 2031,
        "standard_fen": 30000,
    }
    published = PlanPublished(
        **plan,
        deadline=deadline,
        reference_date=date(2031, 9, 1),
        options=["mooncake", "fruit"],
        default_option="mooncake",
    )
    await publish(stack, published, subject=plan_id, campus="main")
    for mid in (undecided, decided, gone):
        eid = f"{plan_id}:{mid}"
        common = {"entitlement_id": eid, "plan_id": plan_id, "member_id": mid, "campus": "main"}
        created = EntitlementCreated(**common, year=2031, standard_fen=30000, late=False)
        await publish(stack, created, subject=eid, campus="main")
        if mid == decided:
            chosen = EntitlementChosen(
                **common, year=2031, option="fruit", amount_fen=29800, defaulted=False
            )
            await publish(stack, chosen, subject=eid, campus="main", version=2)
        if mid == gone:
            voided = EntitlementVoided(**common, year=2031, reason="withdrawn")
            await publish(stack, voided, subject=eid, campus="main", version=2)
    states = stack.notify.db["reminder_entitlements"]

    async def projected() -> bool:
        docs = await states.find({"plan_id": plan_id}).to_list()
        return sorted(d["state"] for d in docs) == ["chosen", "created", "voided"]

    await wait_until(projected, 30, "the plan's entitlements")
    await schedule(stack, f"gift_choice_deadline:{plan_id}", active=True)

    await fire(stack.notify, deadline - timedelta(hours=20))
    found = await deliveries(stack, f"reminder:gift_choice_deadline:{plan_id}@")
    assert set(found) == {(undecided, "inbox"), (undecided, "wecom")}
    [message] = await titled(stack, undecided, "2031年中秋福利选择即将截止")
    assert message["body"].startswith(
        "王芳，您好！工会2031年中秋福利的礼品选择将于9月20日 18:00截止，您还没有选择。"
    )
    for mid in (decided, gone):
        assert await titled(stack, mid, "2031年中秋福利选择即将截止") == []
    await publish(stack, PlanClosed(**plan), subject=plan_id, campus="main", version=2)
    await schedule(stack, f"gift_choice_deadline:{plan_id}", active=False)


async def test_the_exam_reminder_comes_the_evening_before_and_not_for_a_cancelled_booking(site):
    stack, _ = site
    day, later = date(2031, 3, 10), date(2031, 3, 17)
    booked, cancelled, moved = await member(stack), await member(stack), await member(stack)
    plan_id = f"main:{uid('y')}"
    bookings = {}
    for mid in (booked, cancelled, moved):
        bid = f"{plan_id}:{mid}"
        bookings[mid] = bid
        common = {"booking_id": bid, "plan_id": plan_id, "member_id": mid, "campus": "main"}
        event = ExamBooked(**common, slot="s1", day=day, package="basic")
        await publish(stack, event, subject=bid, campus="main")
        if mid == cancelled:
            await publish(
                stack, ExamCancelled(**common, slot="s1"), subject=bid, campus="main", version=2
            )
        if mid == moved:
            again = ExamBooked(**common, slot="s2", day=later, package="basic", moved_from="s1")
            await publish(stack, again, subject=bid, campus="main", version=2)
    await schedule(stack, f"exam_tomorrow:{bookings[cancelled]}", active=False)
    moved_to = {"member_id": moved, "day": later.isoformat()}
    await schedule(stack, f"exam_tomorrow:{bookings[moved]}", active=True, values=moved_to)
    await schedule(stack, f"exam_tomorrow:{bookings[booked]}", active=True)

    def eve(d: date) -> datetime:
        return datetime.combine(d - timedelta(days=1), time(18, 0), SHANGHAI).astimezone(UTC)

    await fire(stack.notify, eve(day))
    assert set(await deliveries(stack, f"reminder:exam_tomorrow:{bookings[booked]}@")) == {
        (booked, "inbox"),
        (booked, "wecom"),
    }
    [message] = await titled(stack, booked, "明天体检：2031年3月10日")
    assert "体检前一晚十点后请禁食" in message["body"]
    for mid in (cancelled, moved):
        assert [m for m in await inbox(stack, mid) if m["title"].startswith("明天体检")] == []
    await fire(stack.notify, eve(later))
    assert len(await titled(stack, moved, "明天体检：2031年3月17日")) == 1


async def test_two_replicas_send_a_reminder_once_and_a_fresh_replica_sends_what_is_stored(site):
    stack, server = site
    start = datetime(2031, 11, 3, 2, 0, tzinfo=UTC)
    facts = activity(starts_at=start, ends_at=start + timedelta(hours=2))
    aid = facts["activity_id"]
    people = [await member(stack) for _ in range(3)]
    await publish(stack, ActivityPublished(**facts), subject=aid, campus="main")
    for mid in people:
        await register(stack, mid, aid, RegistrationConfirmed, "confirmed")
    await schedule(stack, f"activity_1h:{aid}", active=True)

    second = await replica(stack, server)
    try:
        # The job on both replicas' schedulers, at the same moment: the slot is claimed once.
        now = start - timedelta(hours=20)
        schedulers = [
            Scheduler(
                "notify",
                runtime.db,
                [
                    Job(
                        "notify.reminders",
                        Every(60),
                        partial(
                            reminders_job, Reminders(runtime.db), runtime.context.dispatcher, TABLE
                        ),
                    )
                ],
                holder=f"replica-{i}",
                clock=lambda: now,
            )
            for i, runtime in enumerate((stack.notify, second))
        ]
        ran = await asyncio.gather(*(s.tick() for s in schedulers))
        assert sorted(len(r) for r in ran) == [0, 1]
        day_before = await deliveries(stack, f"reminder:activity_24h:{aid}@")
        assert set(day_before) == {(m, c) for m in people for c in ("inbox", "wecom")}

        # Both replicas run the same reminder anyway (a lease run out, a slow run overlapping
        # the next slot): the unique delivery keys leave one per recipient and channel.
        soon = start - timedelta(minutes=40)
        created = await asyncio.gather(fire(stack.notify, soon), fire(second, soon))
        hour_before = await deliveries(stack, f"reminder:activity_1h:{aid}@")
        assert set(hour_before) == {(m, c) for m in people for c in ("inbox", "wecom")}
        assert sum(created) >= len(hour_before)  # other due reminders may count too
        for mid in people:
            titles = [m["title"] for m in await inbox(stack, mid)]
            assert titles.count("活动即将开始：春季踏青") == 1
    finally:
        await second.stop()

    # Notify restarted: a process that never saw the events sends what the database holds.
    later = datetime(2031, 11, 20, 2, 0, tzinfo=UTC)
    other = activity(starts_at=later, ends_at=later + timedelta(hours=2))
    await publish(stack, ActivityPublished(**other), subject=other["activity_id"], campus="main")
    await register(stack, people[0], other["activity_id"], RegistrationConfirmed, "confirmed")
    await schedule(stack, f"activity_24h:{other['activity_id']}", active=True)
    fresh = await replica(stack, server)
    try:
        await fire(fresh, later - timedelta(hours=12))
    finally:
        await fresh.stop()
    found = await deliveries(stack, f"reminder:activity_24h:{other['activity_id']}@")
    assert set(found) == {(people[0], "inbox"), (people[0], "wecom")}
