"""Reads and updates by `_id` on the real server: the same answer whichever way they ask.

FerretDB answers `$in` by reading the whole collection, so `shared.mongo` asks a few keys one
by one (and many keys one by one when the collection is far bigger); both ways must give
exactly what `$in` gives: the documents that exist and match, each once.
"""

from __future__ import annotations

import uuid

import pytest
from pymongo import AsyncMongoClient

from shared.mongo import asks_key_by_key, find_by_ids, find_in, update_by_ids

pytestmark = pytest.mark.integration


@pytest.fixture
async def ferretdb(infra) -> bool:
    client: AsyncMongoClient = AsyncMongoClient(infra.mongo_url)
    try:
        return "ferretdbVersion" in await client.admin.command("buildInfo")
    finally:
        await client.close()


@pytest.fixture
async def coll(infra):
    client: AsyncMongoClient = AsyncMongoClient(infra.mongo_url, tz_aware=True)
    db = client[f"keyed_{uuid.uuid4().hex[:8]}"]
    await db["docs"].insert_many(
        [
            {"_id": f"m-{i:03d}", "n": i, "campus": "east" if i % 2 else "west", "pad": "x" * 1024}
            for i in range(120)
        ]
    )
    try:
        yield db["docs"]
    finally:
        await client.drop_database(db.name)
        await client.close()


# 120 documents of ~1 KiB: 3 keys are asked one by one, 30 with one `$in` (on FerretDB).
@pytest.mark.parametrize("asked", [3, 30], ids=["a few keys", "many keys"])
async def test_find_by_ids_answers_what_exists_and_matches_once(coll, asked, ferretdb):
    ids = [f"m-{i:03d}" for i in range(asked)] + ["m-000", "nobody"]
    assert await asks_key_by_key(coll, len(set(ids))) is (ferretdb and asked == 3)

    found = await find_by_ids(coll, ids, {"n": 1})
    assert sorted(found) == [f"m-{i:03d}" for i in range(asked)]
    assert all(doc == {"_id": key, "n": int(key[2:])} for key, doc in found.items())

    east = await find_by_ids(coll, ids, where={"campus": "east"})
    assert sorted(east) == [f"m-{i:03d}" for i in range(asked) if i % 2]


@pytest.mark.parametrize("asked", [2, 30], ids=["a few values", "many values"])
async def test_find_in_answers_every_document_with_one_of_the_values(coll, asked, ferretdb):
    values = ["east"] * asked if asked == 2 else list(range(asked))
    field = "campus" if asked == 2 else "n"
    asked_values = list(dict.fromkeys([*values, "nowhere"]))
    assert await asks_key_by_key(coll, len(asked_values)) is (ferretdb and asked == 2)

    found = await find_in(coll, field, asked_values, {"n": 1})

    expected = range(1, 120, 2) if asked == 2 else range(asked)
    assert sorted(d["n"] for d in found) == list(expected)  # each document once


async def test_find_by_ids_of_nothing_or_in_a_collection_not_made_yet_finds_nothing(coll):
    assert await find_by_ids(coll, []) == {}
    assert await find_by_ids(coll.database["not_made_yet"], ["m-001", "m-002"]) == {}


@pytest.mark.parametrize("asked", [2, 20], ids=["a few keys", "many keys"])
async def test_update_by_ids_changes_only_the_matching_documents(coll, asked, ferretdb):
    ids = [f"m-{i:03d}" for i in range(asked)] + ["nobody"]
    assert await asks_key_by_key(coll, len(ids)) is (ferretdb and asked == 2)

    changed = await update_by_ids(coll, ids, {"$set": {"read": True}}, where={"campus": "east"})

    expected = [f"m-{i:03d}" for i in range(asked) if i % 2]
    assert changed == len(expected)
    assert sorted([d["_id"] async for d in coll.find({"read": True})]) == expected
    assert await update_by_ids(coll, ids, {"$set": {"read": True}}, where={"campus": "east"}) == 0


async def test_a_few_documents_under_indexes_made_first_are_read_at_once(coll):
    """A service makes its indexes at start, so PostgreSQL has not counted the rows until
    autovacuum does; the table's size (indexes included) must not pass for documents: 5
    nominations (~60 KiB with their indexes) are read with one `$in` for a ballot's 3 keys,
    and 200 documents under the same indexes are asked key by key."""
    small, large = coll.database["few"], coll.database["many"]
    for made in (small, large):
        await made.create_index([("campaign", 1)])
        await made.create_index([("campaign", 1), ("category", 1)])
    await small.insert_many(
        [{"_id": f"n-{i}", "campaign": "c", "pad": "x" * 300} for i in range(5)]
    )
    await large.insert_many([{"_id": f"n-{i}", "campaign": "c"} for i in range(200)])

    assert not await asks_key_by_key(small, 3)
    assert sorted(await find_by_ids(small, ["n-0", "n-4", "n-9"])) == ["n-0", "n-4"]
    if "ferretdbVersion" in await coll.database.client.admin.command("buildInfo"):
        assert await asks_key_by_key(large, 3)
