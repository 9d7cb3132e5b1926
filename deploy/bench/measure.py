"""The measurements: raw client limits, then Gonghui's own paths, on the same servers.

Raw figures use the very client settings the services use (`shared.kafka.new_producer`,
`shared.mongo.connect`), so a ratio says what Gonghui's own work costs on top of the
clients, not how two differently tuned clients compare.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from functools import partial
from typing import Any

from aiokafka import AIOKafkaConsumer

from deploy.bench.report import Measurement
from services.members.settings import MembersSettings
from shared.envelope import CloudEvent
from shared.kafka import new_producer
from shared.mongo import connect
from shared.topics import ensure_topics

MEMBERS_TOPIC = "members.member"


@dataclass(frozen=True)
class Target:
    """Where the servers are, and how hard to push them."""

    kafka_bootstrap: str
    mongo_url: str
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    n: int = 1000
    kafka_n: int = 10000
    concurrency: int = 16
    timeout_s: float = 60.0
    run_id: str = ""
    import_n: int = 5000  # rows of the bulk import's file


def clock() -> float:
    return time.perf_counter()


async def bounded(concurrency: int, jobs: Iterable[Callable[[], Awaitable[Any]]]) -> list[Any]:
    """Run the jobs with at most `concurrency` in flight; results in order."""
    gate = asyncio.Semaphore(concurrency)

    async def one(job: Callable[[], Awaitable[Any]]) -> Any:
        async with gate:
            return await job()

    return await asyncio.gather(*(one(j) for j in jobs))


async def wait_for(
    predicate: Callable[[], Awaitable[bool]], timeout_s: float, what: str, every_s: float = 0.05
) -> None:
    deadline = clock() + timeout_s
    while not await predicate():
        if clock() > deadline:
            raise TimeoutError(f"gave up after {timeout_s:.0f}s waiting for {what}")
        await asyncio.sleep(every_s)


def sample_event(padding_to: int = 1024) -> CloudEvent:
    """A CloudEvent of about `padding_to` bytes of JSON, like a members.member.joined.v1."""
    member_id = f"m-{uuid.uuid4().hex[:12]}"
    event = CloudEvent(
        source="gonghui/bench",
        type="members.member.joined.v1",
        subject=member_id,
        campus="main",
        data={
            "member_id": member_id,
            "staff_no": "T2023001",
            "name": "王老师",
            "campus": "main",
            "department": "学前教育系",
            "joined_on": "2026-09-01",
        },
    )
    size = len(event.to_json_bytes())
    if size < padding_to:
        event.data["note"] = "x" * (padding_to - size - len(',"note":""'))
    return event


# --- raw limits -----------------------------------------------------------------------------


async def raw_kafka(target: Target) -> tuple[Measurement, Measurement]:
    """Produce `kafka_n` ~1 KiB CloudEvents (sends in flight together), then consume them."""
    prefix = f"bench{target.run_id}.raw."
    await ensure_topics(target.kafka_bootstrap, prefix)
    topic = f"{prefix}{MEMBERS_TOPIC}"
    settings = MembersSettings(kafka_bootstrap=target.kafka_bootstrap)
    records = []
    for _ in range(target.kafka_n):
        event = sample_event()
        records.append((event.to_json_bytes(), event.subject.encode()))
    size = len(records[0][0])

    producer = new_producer(settings)
    await producer.start()
    try:
        # Warm-up: metadata, producer id, connections to the partition leaders.
        await producer.send_and_wait(topic, records[0][0], key=records[0][1])
        started = clock()
        futures = [await producer.send(topic, value, key=key) for value, key in records]
        await asyncio.gather(*futures)
        produced = clock() - started
    finally:
        await producer.stop()
    produce = Measurement(
        "kafka.produce",
        f"aiokafka produce, acks=all, idempotent, {size} B CloudEvent",
        target.kafka_n,
        produced,
        unit="msg",
        raw=True,
    )

    total = target.kafka_n + 1  # with the warm-up record
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=target.kafka_bootstrap,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        received = 0
        started = clock()
        deadline = started + target.timeout_s
        while received < total:
            batch = await consumer.getmany(timeout_ms=500, max_records=10000)
            received += sum(len(v) for v in batch.values())
            if clock() > deadline:
                raise TimeoutError(f"consumed only {received} of {total} records")
        consumed = clock() - started
    finally:
        await consumer.stop()
    consume = Measurement(
        "kafka.consume",
        "aiokafka consume, one consumer, all partitions",
        total,
        consumed,
        unit="msg",
        raw=True,
    )
    return produce, consume


async def raw_mongo(target: Target, warnings: list[str]) -> list[Measurement]:
    """insert_one, find_one by _id and a conditional $inc, `n` each, `concurrency` in flight.

    Appends to `warnings` when the server loses acknowledged updates.
    """
    settings = MembersSettings(mongo_url=target.mongo_url)
    client = connect(settings)
    db_name = f"bench{target.run_id}_raw"
    db = client[db_name]
    coll = db["docs"]
    counters = db["counters"]
    c = target.concurrency
    try:
        await db.command("ping")
        filler = "x" * 800  # about the size of a member document with its outbox event
        ids = [uuid.uuid4().hex for _ in range(target.n)]
        await coll.insert_one({"_id": "warm-up", "payload": filler})

        started = clock()
        await bounded(c, [partial(coll.insert_one, {"_id": i, "payload": filler}) for i in ids])
        inserted = clock() - started

        started = clock()
        found = await bounded(c, [partial(coll.find_one, {"_id": i}) for i in ids])
        looked_up = clock() - started
        if sum(1 for d in found if d) != target.n:
            raise AssertionError("find_one did not find every inserted document")

        # One hot counter, as an activity's capacity: take a seat only while seats are left.
        capacity = target.n
        await counters.insert_one({"_id": "activity", "taken": 0, "capacity": capacity})

        async def take_seat() -> int:
            result = await counters.update_one(
                {"_id": "activity", "taken": {"$lt": capacity}}, {"$inc": {"taken": 1}}
            )
            return result.modified_count

        started = clock()
        taken = await bounded(c, [take_seat for _ in range(target.n)])
        updated = clock() - started
        doc = await counters.find_one({"_id": "activity"}) or {}
        # Not a timing check: the server must not lose acknowledged increments.
        if sum(taken) != doc.get("taken"):
            warnings.append(
                f"LOST UPDATES: {sum(taken)} conditional $inc acknowledged as modified with "
                f"{c} in flight, but the counter reads {doc.get('taken')} (capacity {capacity}); "
                "this server's update_one is not atomic, so capacity/budget counters on it can "
                "oversell"
            )
    finally:
        await client.drop_database(db_name)
        await client.close()
    where = f"{c} in flight"
    return [
        Measurement(
            "mongo.insert",
            "PyMongo async insert_one, ~1 KiB doc",
            target.n,
            inserted,
            note=where,
            raw=True,
        ),
        Measurement(
            "mongo.find", "PyMongo async find_one by _id", target.n, looked_up, note=where, raw=True
        ),
        Measurement(
            "mongo.update",
            "PyMongo async update_one, conditional $inc on one hot doc",
            target.n,
            updated,
            note=where,
            raw=True,
        ),
    ]
