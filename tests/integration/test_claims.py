"""Concurrency proofs on the real MongoDB-wire server: claims and slots never oversell."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from pymongo import AsyncMongoClient

from shared.claims import claim_once, release_slot, setup_slot_indexes, take_slot

pytestmark = pytest.mark.integration


@pytest.fixture
async def coll(infra):
    client = AsyncMongoClient(infra.mongo_url)
    db = client[f"claims_{uuid.uuid4().hex[:8]}"]
    await setup_slot_indexes(db["slots"])
    try:
        yield db["slots"]
    finally:
        await client.drop_database(db.name)
        await client.close()


async def test_one_vote_per_member_under_a_burst_of_identical_requests(coll):
    results = await asyncio.gather(*(claim_once(coll, "vote:2026:m-1") for _ in range(40)))
    assert results.count(True) == 1
    assert await coll.count_documents({"_id": "vote:2026:m-1"}) == 1


async def test_capacity_is_never_exceeded_when_many_register_at_once(coll):
    capacity, people = 7, 40
    slots = await asyncio.gather(
        *(take_slot(coll, "activity:sports-day", capacity, f"m-{i}") for i in range(people))
    )
    winners = [s for s in slots if s is not None]
    assert sorted(winners) == list(range(1, capacity + 1))  # every seat once, none twice
    assert await coll.count_documents({"pool": "activity:sports-day"}) == capacity


async def test_a_double_click_takes_one_slot_and_a_release_frees_it_for_the_next(coll):
    same = await asyncio.gather(*(take_slot(coll, "exam:0315-am", 3, "m-7") for _ in range(10)))
    assert len(set(same)) == 1 and same[0] is not None
    assert await coll.count_documents({"pool": "exam:0315-am"}) == 1
    await take_slot(coll, "exam:0315-am", 3, "m-8")
    await take_slot(coll, "exam:0315-am", 3, "m-9")
    assert await take_slot(coll, "exam:0315-am", 3, "m-10") is None  # full: waitlist
    released = await asyncio.gather(*(release_slot(coll, "exam:0315-am", "m-7") for _ in range(5)))
    assert [r for r in released if r is not None] == [same[0]]  # freed exactly once
    assert await take_slot(coll, "exam:0315-am", 3, "m-10") == same[0]
