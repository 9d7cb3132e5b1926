"""The demo's donors: `make run` seeds a blood drive that has taken place with its donors
checked in at the door (deploy/local/demo/events.py, `seed_donors`, after the activities), and
welfare raises their donor cases by itself from the attendance records over Kafka — no
seeder writes them. Seeding again adds nothing, on either side."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from typing import Any

import httpx
import pytest

from deploy.local.demo import events as events_demo
from deploy.local.demo.events import DEMO_ACTIVITIES, HELD_DONORS, HELD_DRIVE
from services.events.activities.domain import activity_id_for
from shared.readmodels.member_directory import MEMBER_DIRECTORY
from shared.timeutil import local_today, utcnow
from tests.integration import events_kit as kit
from tests.integration.conftest import Stack, bearer, stack_fixture
from tests.kafka_tools import read_all, wait_until

pytestmark = pytest.mark.integration

stack = stack_fixture("events", "welfare", scope="module")
late_stack = stack_fixture("events", name="late_stack")  # its own: the drive is once per stack
CHAIR = bearer("chair", ["admin"], ["main"])


async def donor_cases(stack: Stack) -> list[dict[str, Any]]:
    found = await stack.welfare_http.get(
        "/cases", params={"kind": "blood_donation", "limit": 200}, headers=CHAIR
    )
    assert found.status_code == 200, found.text
    return list(found.json()["items"])


async def test_the_demo_drive_has_its_donors_cases_raised_by_welfare_once(stack: Stack):
    people = kit.demo_people()
    await stack.events.db[MEMBER_DIRECTORY].insert_many(people)
    await stack.welfare.db[MEMBER_DIRECTORY].insert_many(people)
    donors = {people[i]["_id"]: people[i]["name"] for i in HELD_DONORS}
    transport = httpx.ASGITransport(app=stack.events.app)
    # In `make run`'s order: the activities of the coming months (their blood drive has
    # sign-ups but nobody at the door yet), then the drive that has taken place.
    added, _ = await events_demo.seed("http://events", transport=transport)
    assert added == len(DEMO_ACTIVITIES)
    assert await events_demo.seed_donors("http://events", transport=transport) == (3, 0)

    async def raised() -> bool:
        return len(await donor_cases(stack)) == len(donors)

    await wait_until(raised, 60, "welfare's cases of the demo donors")
    cases = await donor_cases(stack)
    assert {c["member_id"]: c["member_name"] for c in cases} == donors
    assert {(c["source"], c["status"], c["occurred_on"]) for c in cases} == {
        ("blood_donation", "raised", local_today().isoformat())
    }
    assert {c["summary"] for c in cases} == {f"无偿献血慰问：{HELD_DRIVE['title']}"}
    [drive_id] = {c["source_ref"] for c in cases}

    # The drive has taken place: it started before now and was ended; its donors signed up
    # and were checked in with their codes (none had to be a walk-in).
    admin = stack.cadre_headers("main")
    drive = (await stack.events_http.get(f"/activities/{drive_id}", headers=admin)).json()
    assert drive["status"] == "completed"
    assert datetime.fromisoformat(drive["starts_at"]) < utcnow()
    listed = await stack.events_http.get(f"/activities/{drive_id}/registrations", headers=admin)
    registrations = listed.json()["items"]
    assert {r["member_id"] for r in registrations} == set(donors)
    assert all(r["checked_in_at"] and not r["walk_in"] for r in registrations)

    # Seeding again: nothing new at the door, so nothing new for welfare either.
    assert await events_demo.seed("http://events", transport=transport) == (
        0,
        len(DEMO_ACTIVITIES),
    )
    assert await events_demo.seed_donors("http://events", transport=transport) == (0, 3)
    await _published(stack)
    records = [
        json.loads(r.value)
        for r in await read_all(stack.bootstrap, stack.topic("events.attendance"), 2000)
    ]
    assert sorted(r["data"]["member_id"] for r in records) == sorted(donors)
    assert len(await donor_cases(stack)) == len(donors)


async def test_donors_events_learns_only_after_the_start_are_recorded_as_walk_ins(
    late_stack: Stack,
):
    """A fresh `make run` where events is slow to learn the members: their sign-ups cannot
    land before the drive starts, so the cadre records them at the door as walk-ins."""
    stack = late_stack
    people = kit.demo_people()
    transport = httpx.ASGITransport(app=stack.events.app)

    async def learnt_late() -> None:
        await asyncio.sleep(5)  # the drive starts after 3
        await stack.events.db[MEMBER_DIRECTORY].insert_many(people)

    learning = asyncio.create_task(learnt_late())
    seeded = await events_demo.seed_donors(
        "http://events", lead_s=3, wait_s=30, transport=transport
    )
    await learning
    assert seeded == (3, 0)
    # Read one by one, not from the lists (views that converge within a second).
    admin = stack.cadre_headers("main")
    drive_id = activity_id_for(str(HELD_DRIVE["campus"]), str(HELD_DRIVE["ref"]))
    drive = (await stack.events_http.get(f"/activities/{drive_id}", headers=admin)).json()
    assert drive["status"] == "completed"
    for i in HELD_DONORS:
        url = f"/activities/{drive_id}/registrations/{people[i]['_id']}"
        registration = (await stack.events_http.get(url, headers=admin)).json()
        assert registration["walk_in"] and registration["checked_in_at"], registration
    assert await events_demo.seed_donors("http://events", transport=transport) == (0, 3)


async def _published(stack: Stack) -> None:
    async def empty() -> bool:
        return await stack.events.relay.backlog() == 0

    await wait_until(empty, 30, "events' outbox to be published")
