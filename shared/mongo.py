"""MongoDB access through PyMongo's asynchronous client (the successor of Motor)."""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any

from pymongo import AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from shared.settings import ServiceSettings


def connect(settings: ServiceSettings) -> AsyncMongoClient:
    # tz_aware: datetimes come back as UTC-aware values, never naive local times.
    return AsyncMongoClient(
        settings.mongo_url, tz_aware=True, serverSelectionTimeoutMS=5000, appname=settings.service
    )


def database(client: AsyncMongoClient, settings: ServiceSettings) -> AsyncDatabase:
    return client[settings.mongo_db]


# -- reading and updating by keys ------------------------------------------------------------
#
# FerretDB 1.x (the embedded store) hands only equality to PostgreSQL; `{"_id": {"$in": […]}}`
# it answers by reading and decoding every document of the collection (measured: 3 ids out of
# 10,000 documents 540 ms, out of 50,000 4.5 s; three `find_one` by `_id`, 3–9 ms). MongoDB
# answers `$in` from its index. So on FerretDB a lookup asks key by key when the collection is
# much bigger than the list of keys (PostgreSQL's estimate, which `dataSize` answers in a few
# milliseconds; read again every 30 s), and with one `$in` when reading it all costs less.

# One key costs about 0.8 ms (8 in flight), one document read by `$in` about 0.055 ms: key by
# key wins while the collection holds more than ~15 documents per key asked.
KEYS_PER_SCAN = 15
_IN_FLIGHT = 8
_ESTIMATE_TTL_S = 30.0
_COUNTED_UP_TO = 128  # documents of a table PostgreSQL has not counted, counted by reading

_ferret: weakref.WeakKeyDictionary[AsyncMongoClient, bool] = weakref.WeakKeyDictionary()
_estimates: dict[str, tuple[float, int]] = {}


def key_by_key(ferretdb: bool, keys: int, documents: int) -> bool:
    """Whether to ask for `keys` documents one key at a time rather than with one `$in`."""
    return ferretdb and keys > 0 and documents > KEYS_PER_SCAN * keys


async def _is_ferretdb(client: AsyncMongoClient) -> bool:
    if client not in _ferret:
        info = await client.admin.command("buildInfo")
        _ferret[client] = "ferretdbVersion" in info
    return _ferret[client]


async def _documents(coll: AsyncCollection) -> int:
    """About how many documents the collection holds: PostgreSQL's row estimate; for a table
    it has not counted yet, the documents there are up to `_COUNTED_UP_TO`, and beyond that
    its size in KiB (a document with its overhead is ~1 KiB)."""
    now = time.monotonic()
    cached = _estimates.get(coll.full_name)
    if cached and now - cached[0] < _ESTIMATE_TTL_S:
        return cached[1]
    answer = await coll.database.command("dataSize", coll.full_name)
    found = int(answer.get("numObjects", -1))
    if found < 0:
        # Not counted until autovacuum's first ANALYZE (a table whose indexes were made while
        # empty). Its size includes every index: the 5 nominations of a campaign are 56 KiB,
        # which read as 56 documents sent a vote's 3 keys one by one. FerretDB passes a
        # filterless `limit` to PostgreSQL (64 ids of 20,000: 5 ms), so count the few.
        cursor = coll.find({}, {"_id": 1}).limit(_COUNTED_UP_TO)
        found = len([d async for d in cursor])
        if found == _COUNTED_UP_TO:
            found = max(found, int(answer.get("size", 0)) // 1024)
    _estimates[coll.full_name] = (now, found)
    return found


async def asks_key_by_key(coll: AsyncCollection, keys: int) -> bool:
    """Whether a lookup of `keys` documents of this collection asks one key at a time."""
    if keys == 0 or not await _is_ferretdb(coll.database.client):
        return False
    return key_by_key(True, keys, await _documents(coll))


async def each(
    keys: Sequence[Any], ask: Callable[[Any], Awaitable[Any]], in_flight: int = _IN_FLIGHT
) -> list[Any]:
    """`ask` for every key, at most `in_flight` at once (a client's connections); in order."""
    gate = asyncio.Semaphore(in_flight)

    async def one(key: Any) -> Any:
        async with gate:
            return await ask(key)

    return list(await asyncio.gather(*(one(k) for k in keys)))


async def find_by_ids(
    coll: AsyncCollection,
    ids: Iterable[Any],
    projection: Mapping[str, Any] | None = None,
    where: Mapping[str, Any] | None = None,
) -> dict[Any, dict[str, Any]]:
    """The documents with these `_id`s that exist (and match `where`), by `_id`."""
    keys = list(dict.fromkeys(ids))
    if not keys:
        return {}
    extra = dict(where or {})
    if await asks_key_by_key(coll, len(keys)):
        docs = await each(keys, lambda k: coll.find_one({**extra, "_id": k}, projection))
        return {d["_id"]: d for d in docs if d is not None}
    cursor = coll.find({**extra, "_id": {"$in": keys}}, projection)
    return {d["_id"]: d async for d in cursor}


async def find_in(
    coll: AsyncCollection,
    field: str,
    values: Iterable[Any],
    projection: Mapping[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """The documents whose `field` is one of `values` (an indexed field: asked value by value
    where `find_by_ids` would ask key by key)."""
    keys = list(dict.fromkeys(values))
    if not keys:
        return []
    if await asks_key_by_key(coll, len(keys)):
        pages = await each(keys, lambda k: coll.find({field: k}, projection).to_list())
        return [d for page in pages for d in page]
    return await coll.find({field: {"$in": keys}}, projection).to_list()


async def update_by_ids(
    coll: AsyncCollection,
    ids: Iterable[Any],
    update: Mapping[str, Any],
    where: Mapping[str, Any] | None = None,
) -> int:
    """Apply `update` to the documents with these `_id`s that match `where`; how many changed."""
    keys = list(dict.fromkeys(ids))
    if not keys:
        return 0
    extra = dict(where or {})
    if await asks_key_by_key(coll, len(keys)):
        done = await each(keys, lambda k: coll.update_one({**extra, "_id": k}, update))
        return sum(d.modified_count for d in done)
    result = await coll.update_many({**extra, "_id": {"$in": keys}}, update)
    return result.modified_count
