"""The voice demo data on the real servers: a campaign in its voting phase with votes, a
congress session with proposals at each step; seeding again adds nothing."""

from __future__ import annotations

import httpx
import pytest

from deploy.local.demo import voice
from shared.readmodels.member_directory import MEMBER_DIRECTORY
from tests.integration import events_kit as kit
from tests.integration.conftest import Stack, stack_fixture

pytestmark = pytest.mark.integration

stack = stack_fixture("events", scope="module")
TOPICS = ("events.campaign", "events.nomination", "events.congress", "events.proposal")


async def test_the_voice_demo_seeds_once(stack: Stack):
    people = kit.demo_people()
    await stack.events.db[MEMBER_DIRECTORY].insert_many(people)
    transport = httpx.ASGITransport(app=stack.events.app)
    assert await voice.seed_congress("http://events", transport=transport) == (2, 0)
    await kit.settled(stack, *TOPICS)  # the lists the seeder looks in have caught up
    assert await voice.seed_congress("http://events", transport=transport) == (0, 2)
    await kit.settled(stack, *TOPICS)

    http, admin = stack.events_http, {"Authorization": (await _admin())}
    [campaign] = (await http.get("/commendations", headers=admin)).json()
    found = (await http.get(f"/commendations/{campaign['id']}", headers=admin)).json()
    assert found["phase"] == "voting" and found["voting_open"]
    assert sum(c["votes"] for c in found["candidates"]) > 0
    [session] = (await http.get("/congress/sessions", headers=admin)).json()
    register = await http.get(f"/congress/sessions/{session['id']}/proposals", headers=admin)
    statuses = sorted(p["status"] for p in register.json())
    assert statuses == sorted(["draft", "submitted", "endorsed", "assigned", "rated", "rejected"])


async def _admin() -> str:
    from deploy.local.demo.client import admin_token

    return f"Bearer {admin_token()}"
