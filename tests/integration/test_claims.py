"""Concurrency proofs on the real MongoDB-wire server: claims and slots never oversell."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from pymongo import AsyncMongoClient

from shared.claims import (
    append_entry,
    claim_once,
    open_account,
    release_slot,
    setup_entry_indexes,
    setup_slot_indexes,
    take_slot,
    take_slots,
)

pytestmark = pytest.mark.integration


@pytest.fixture
async def coll(infra):
    client: AsyncMongoClient = AsyncMongoClient(infra.mongo_url)
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


@pytest.mark.parametrize("never_released", [False, True], ids=["read first", "insert first"])
async def test_ballots_taking_several_slots_at_once_never_pass_k_nor_hold_a_pair_twice(
    coll, never_released
):
    # Eight ballots of one voter race (double clicks, two tabs), each naming 2–3 of five
    # candidates, against a limit of 3 votes: at most 3 slots, each candidate at most once.
    k, pool = 3, "vote:c1:voter-7"
    ballots = [["a", "b", "c"], ["c", "d"], ["e", "a", "b"], ["d", "e"]] * 2
    answers = await asyncio.gather(
        *(take_slots(coll, pool, k, b, never_released=never_released) for b in ballots)
    )
    held = {d["holder"]: d["number"] async for d in coll.find({"pool": pool})}
    assert len(held) == k and sorted(held.values()) == [1, 2, 3]
    for ballot, (got, seen) in zip(ballots, answers, strict=True):
        assert set(got) == set(ballot)
        for holder, number in got.items():  # an answer is the holder's real slot, or full
            assert number == held.get(holder)
        assert 1 <= seen <= k  # the pool as the call saw it, never more than there are
    again = await take_slots(coll, pool, k, [*held, "z"], never_released=never_released)
    assert again == ({**held, "z": None}, k)  # the holders keep theirs; the pool is full


async def test_a_first_ballot_inserts_its_slots_and_a_later_one_keeps_what_is_held(coll):
    pool = "vote:c2:voter-9"
    assert await take_slots(coll, pool, 3, ["a", "b"], never_released=True) == (
        {"a": 1, "b": 2},
        2,
    )
    # "a" again and a new "c": "a" keeps its number, "c" gets the one left, the pool is full.
    assert await take_slots(coll, pool, 3, ["a", "c"], never_released=True) == (
        {"a": 1, "c": 3},
        3,
    )
    assert await take_slots(coll, pool, 3, ["d"], never_released=True) == ({"d": None}, 3)
    held = {d["holder"]: d["number"] async for d in coll.find({"pool": pool})}
    assert held == {"a": 1, "b": 2, "c": 3}


async def test_a_budget_line_is_never_overspent_by_concurrent_spending(infra):
    client: AsyncMongoClient = AsyncMongoClient(infra.mongo_url)
    db = client[f"ledger_{uuid.uuid4().hex[:8]}"]
    ledger = db["ledger"]
    await setup_entry_indexes(ledger)
    try:
        assert await append_entry(ledger, "2026:端午", 100_000, doc={"memo": "预算"})
        spends = await asyncio.gather(
            *(
                append_entry(ledger, "2026:端午", -15_000, doc={"memo": f"采购{i}"})
                for i in range(12)
            )
        )
        accepted = [s for s in spends if s is not None]
        assert len(accepted) == 6  # 6 × 150.00 元 fit in 1,000.00 元; the other 6 are refused
        entries = await ledger.find({"account": "2026:端午"}).sort("seq", 1).to_list()
        assert [e["seq"] for e in entries] == list(range(1, 8))  # one chain, no gaps, no forks
        assert sum(e["amount_fen"] for e in entries) == entries[-1]["balance_fen"] == 10_000
        assert min(e["balance_fen"] for e in entries) >= 0
    finally:
        await client.drop_database(db.name)
        await client.close()


async def test_an_account_opens_once_and_a_keyed_entry_is_appended_once(infra):
    client: AsyncMongoClient = AsyncMongoClient(infra.mongo_url)
    db = client[f"ledger_{uuid.uuid4().hex[:8]}"]
    ledger = db["ledger"]
    await setup_entry_indexes(ledger, keyed=True)
    try:
        # A month's bill opened by five replicas at once: one opening, no second entry.
        opened = await asyncio.gather(
            *(
                open_account(ledger, "2026-04:m-1", 4000, {"key": "bill:2026-04:m-1"})
                for _ in range(5)
            )
        )
        assert opened.count(True) == 1
        # A form sent ten times at once, and two other payments racing with it.
        same = [append_entry(ledger, "2026-04:m-1", -1500, key="pay:form-1") for _ in range(10)]
        others = [append_entry(ledger, "2026-04:m-1", -2000, key=f"pay:form-{i}") for i in (2, 3)]
        results = await asyncio.gather(*same, *others)
        forms = [r for r in results[:10] if r is not None]
        assert len(forms) == 10 and len({r["_id"] for r in forms}) == 1  # one entry for 10 sends
        accepted = [r for r in results[10:] if r is not None]
        assert len(accepted) == 1  # 40.00 − 15.00 leaves room for one 20.00, not two
        entries = await ledger.find({"account": "2026-04:m-1"}).sort("seq", 1).to_list()
        assert entries[0]["amount_fen"] == 4000
        assert sorted(e["amount_fen"] for e in entries[1:]) == [-2000, -1500]
        assert [e["balance_fen"] for e in entries] == [
            4000,
            4000 + entries[1]["amount_fen"],
            500,
        ]  # each balance built on the one before
        assert [e["seq"] for e in entries] == [1, 2, 3]
        assert entries[-1]["balance_fen"] == 500 and min(e["balance_fen"] for e in entries) >= 0
        # Replayed after the chain moved on (a reversal), the form still gets its entry.
        await append_entry(ledger, "2026-04:m-1", 1500, floor_fen=None, key="rev:2")
        again = await append_entry(ledger, "2026-04:m-1", -1500, key="pay:form-1")
        assert again is not None and again["seq"] == forms[0]["seq"]
        assert await ledger.count_documents({"account": "2026-04:m-1"}) == 4
        # A key is the collection's: another account cannot take it.
        await open_account(ledger, "2026-04:m-2", 4000, {"key": "bill:2026-04:m-2"})
        with pytest.raises(ValueError):
            await append_entry(ledger, "2026-04:m-2", -100, key="pay:form-1")
    finally:
        await client.drop_database(db.name)
        await client.close()


def test_money_must_be_integer_fen():
    with pytest.raises(TypeError):
        asyncio.run(append_entry(None, "a", 1.5))  # type: ignore[arg-type]
