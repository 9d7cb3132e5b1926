"""Publishing a festival plan to 50,000 eligible members (funds-plans): entitlements created
and their events on Kafka, end to end, next to the raw bulk-insert and raw produce rates
measured in the same run on the same servers.

The 50,000 members are written straight into welfare's member directory (welfare learns them
from `members.member` events; replaying 50,000 joins would measure the consumer, which other
rows do). Then a chair approves a plan and a cadre publishes it over HTTP; the clock runs from
the request until the relay has put every event on Kafka. Goal: ≥ 0.5 × min(raw bulk insert,
raw produce), under 60 s end to end.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import httpx

from deploy.bench.measure import Target, clock, sample_event, wait_for
from deploy.bench.paths import services
from deploy.bench.report import Measurement
from services.welfare.settings import WelfareSettings
from shared.auth import mint_token
from shared.kafka import new_producer
from shared.mongo import connect
from shared.readmodels.member_directory import MEMBER_DIRECTORY
from shared.runtime import ServiceRuntime
from shared.topics import ensure_topics

SIZE = 50_000
BATCH = 1000
YEAR = 2026


def _member(i: int) -> dict:
    return {
        "_id": f"m-bench-{i:06d}",
        "staff_no": f"B{i:06d}",
        "name": "基准会员",
        "campus": "main",
        "department": f"部门{i % 40:02d}",
        "gender": "female" if i % 2 else "male",
        "status": "active",
        "joined_on": "2020-09-01",
        "sequence": "0000000001.000",
    }


async def raw_bulk_insert(target: Target, n: int) -> Measurement:
    """insert_many of `n` documents the size of an entitlement's change record, in batches."""
    client = connect(WelfareSettings(mongo_url=target.mongo_url))
    db = client[f"bench{target.run_id}_rawbulk"]
    filler = "x" * 900
    docs = [{"_id": uuid.uuid4().hex, "payload": filler} for _ in range(n)]
    try:
        await db["warm"].insert_one({"_id": "warm-up"})
        started = clock()
        for i in range(0, n, BATCH):
            await db["docs"].insert_many(docs[i : i + BATCH], ordered=False)
        took = clock() - started
    finally:
        await client.drop_database(db.name)
        await client.close()
    return Measurement(
        "mongo.bulk_insert",
        f"insert_many, batches of {BATCH:,}, ~1 KiB documents",
        n,
        took,
        unit="docs",
        raw=True,
    )


async def raw_produce(target: Target, n: int) -> Measurement:
    """`n` ~1 KiB CloudEvents produced (all in flight, then every acknowledgement awaited)."""
    prefix = f"bench{target.run_id}.rawplans."
    await ensure_topics(target.kafka_bootstrap, prefix)
    topic = f"{prefix}welfare.entitlement"
    records = [(e.to_json_bytes(), e.subject.encode()) for e in (sample_event() for _ in range(n))]
    producer = new_producer(WelfareSettings(kafka_bootstrap=target.kafka_bootstrap))
    await producer.start()
    try:
        await producer.send_and_wait(topic, records[0][0], key=records[0][1])
        started = clock()
        futures = [await producer.send(topic, value, key=key) for value, key in records]
        await asyncio.gather(*futures)
        took = clock() - started
    finally:
        await producer.stop()
    return Measurement(
        "kafka.produce_bulk",
        f"aiokafka produce of {n:,} events, acks=all (as the relay sends)",
        n,
        took,
        unit="msg",
        raw=True,
    )


async def plan_paths(target: Target, size: int = SIZE) -> list[Measurement]:
    bulk = await raw_bulk_insert(target, size)
    produce = await raw_produce(target, size)
    async with services(target, "plans", "welfare") as [welfare]:
        directory = welfare.db[MEMBER_DIRECTORY]
        members = [_member(i) for i in range(size)]
        for i in range(0, size, BATCH):
            await directory.insert_many(members[i : i + BATCH])
        http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=welfare.app), base_url="http://welfare", timeout=600
        )
        chair = {"Authorization": f"Bearer {mint_token('bench', ['admin'], ['*'])}"}
        now = datetime.now(UTC)
        body = {
            "title": "端午节福利",
            "festival": "dragon_boat",
            "year": YEAR,
            "campuses": ["main"],
            "standard_fen": 20_000,
            "options": [
                {"code": "zongzi", "name": "粽子", "price_fen": 20_000, "form": "food"},
                {"code": "tea", "name": "茶叶", "price_fen": 19_800, "form": "goods"},
            ],
            "reference_date": f"{YEAR}-05-01",
            "deadline": (now + timedelta(days=30)).isoformat(),
            "default_option": "zongzi",
        }
        try:
            made = await http.post("/welfare/plans", json=body, headers=chair)
            assert made.status_code == 201, made.text
            plan_id = made.json()["id"]
            approved = await http.post(f"/welfare/plans/{plan_id}/approval", headers=chair)
            assert approved.status_code == 200, approved.text
            await wait_for(published(welfare), target.timeout_s, "the plan's own events")

            started = clock()
            answer = await http.post(f"/welfare/plans/{plan_id}/publication", headers=chair)
            stored = clock() - started
            assert answer.status_code == 200, answer.text
            created = answer.json()["created"]
            if created != size:
                raise AssertionError(f"{created} entitlements for {size} members: {answer.text}")
            await wait_for(
                published(welfare), max(target.timeout_s, 600), "every event on Kafka", 0.25
            )
            total = clock() - started
            again = await http.post(f"/welfare/plans/{plan_id}/publication", headers=chair)
            if again.json()["created"] != 0:
                raise AssertionError(f"publishing again created some: {again.text}")
        finally:
            await http.aclose()
    slower = min(bulk.rate, produce.rate)
    goal = "met" if size / total >= 0.5 * slower and total < 60 else "NOT met"
    return [
        bulk,
        produce,
        Measurement(
            "plans.publish",
            f"publish a festival plan to {size:,} members: entitlements + events on Kafka",
            size,
            total,
            unit="ents",
            compare_to=("mongo.bulk_insert", "kafka.produce_bulk"),
            note=(
                f"{total:.1f} s end to end ({stored:.1f} s until the answer: caps claimed, "
                f"entitlements written); goal ≥ 0.5 × min and < 60 s: {goal}"
            ),
        ),
    ]


def published(runtime: ServiceRuntime) -> Callable[[], Awaitable[bool]]:
    """Every event this process wrote is acknowledged by Kafka (the relay's own count; its
    markers are deleted a little later, which is housekeeping, not publication)."""

    async def done() -> bool:
        return runtime.relay.pending_events() == 0

    return done
