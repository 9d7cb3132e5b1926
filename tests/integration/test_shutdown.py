"""Graceful stop: in-flight handlers finish, offsets are committed, the outbox is flushed."""

from __future__ import annotations

import asyncio
from datetime import date

import pytest

from services.members.bootstrap import bootstrap as members_bootstrap
from services.members.membership.domain import JoinMember, join
from services.members.settings import MembersSettings
from shared.aggregate import Actor
from shared.topics import ensure_topics
from tests.integration.conftest import build_stack, close_stack
from tests.integration.conftest import join as enrol
from tests.kafka_tools import group_caught_up, read_all

pytestmark = pytest.mark.integration


class SlowMailer:
    def __init__(self) -> None:
        self.started = asyncio.Event()
        self.finished: list[str] = []

    async def send(self, to: str, subject: str, body: str, html: str | None = None) -> None:
        self.started.set()
        await asyncio.sleep(1.0)  # the SMTP conversation is still going when SIGTERM comes
        self.finished.append(to)


async def test_stopping_mid_send_finishes_it_and_commits_its_offset(infra):
    mailer = SlowMailer()
    stack = await build_stack(infra, mailer=mailer, settings={"notify": {"delivery_poll_s": 0.1}})
    try:
        await enrol(stack, "G0001", email="g0001@school.local")
        await asyncio.wait_for(mailer.started.wait(), 30)
        # What the lifespan does on SIGTERM: workers first (the delivery worker is mid-send),
        # then the consumer.
        for worker in stack.notify.workers:
            await worker.stop()
        assert mailer.finished == ["g0001@school.local"]
        sent = await stack.notify.db["deliveries"].find_one({"channel": "email"})
        assert sent["status"] == "sent"  # recorded, so a restart does not send it again
        await stack.notify.consumer.stop()
        topic = stack.topic("members.member")
        group = stack.notify.settings.consumer_group
        assert await group_caught_up(stack.bootstrap, group, topic)  # nothing to redo on restart
    finally:
        await close_stack(stack)


async def test_stopping_right_after_a_write_still_publishes_its_event(infra, unique):
    prefix = f"{unique}."
    await ensure_topics(infra.kafka_bootstrap, prefix)
    settings = MembersSettings.isolated(prefix, infra.kafka_bootstrap, infra.mongo_url)
    # Never started: no relay loop runs, so only the stop-time flush can publish.
    runtime = members_bootstrap(settings, configure_logs=False)
    try:
        cmd = JoinMember(staff_no="G0002", name="周敏", campus="main", department="艺术系")
        member = join(cmd, date(2026, 9, 1))
        await runtime.context.members.enrol(member, Actor("test"))
        assert await runtime.relay.backlog() == 1
    finally:
        await runtime.stop(drop_database=True)
    records = await read_all(infra.kafka_bootstrap, settings.topic("members.member"))
    assert [r.key.decode() for r in records] == [member.id, member.id]  # joined v2 and v1
