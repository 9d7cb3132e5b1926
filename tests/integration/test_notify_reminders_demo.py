"""The demo activities have their reminders: `make run` seeds activities through events' API,
and notify keeps their schedules from the events that follow (no reminder demo data of its
own). Checked here with the events demo seeder on the real servers."""

from __future__ import annotations

import httpx
import pytest

from deploy.local.demo import events as events_demo
from deploy.local.demo.events import DEMO_ACTIVITIES
from services.notify.reminders.domain import confirmed
from shared.readmodels.member_directory import MEMBER_DIRECTORY
from tests.integration import events_kit as kit
from tests.integration.conftest import Stack, stack_fixture
from tests.kafka_tools import wait_until

pytestmark = pytest.mark.integration

stack = stack_fixture("events", "notify", scope="module")


async def test_the_demo_activities_have_their_reminders_scheduled(stack: Stack):
    people = kit.demo_people()
    await stack.events.db[MEMBER_DIRECTORY].insert_many(people)
    transport = httpx.ASGITransport(app=stack.events.app)
    added, _ = await events_demo.seed("http://events", transport=transport)
    assert added == len(DEMO_ACTIVITIES)

    schedules = stack.notify.db["reminder_schedules"]
    wanted = 2 * len(DEMO_ACTIVITIES)  # a day before and an hour before, each

    async def kept() -> bool:
        return await schedules.count_documents({"active": True}) == wanted

    await wait_until(kept, 60, f"{wanted} reminder schedules of the demo activities")
    docs = await schedules.find({"kind": "notify.reminder.activity_1h"}).to_list()
    assert len({d["subject"] for d in docs}) == len(DEMO_ACTIVITIES)
    # The lecture is full: its waitlisted sign-ups are not reminded, its confirmed ones are.
    [lecture] = [d for d in docs if "心理健康讲座" in d["values"]["title"]]
    registrations = stack.notify.db["registrations"]

    async def signed() -> bool:
        return await registrations.count_documents({"activity_id": lecture["subject"]}) == 11

    await wait_until(signed, 60, "the lecture's eleven sign-ups in notify")
    docs = await registrations.find({"activity_id": lecture["subject"]}).to_list()
    assert len(confirmed(docs)) == 8
