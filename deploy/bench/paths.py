"""Gonghui's own paths, measured on the same servers as the raw figures (`measure.py`).

Each path builds the services with their real composition roots (isolated names), drives
them the way production does (the outbox writer, an aggregate change, HTTP), and waits for
the effect it is about (events on Kafka, a view caught up, a notice in the inbox).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from functools import partial

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition

from deploy.bench.measure import Target, bounded, clock, sample_event, wait_for
from deploy.bench.report import Measurement, percentile
from services.members.membership.domain import JoinMember, join
from services.members.org.domain import CampusDefinition
from services.members.settings import MembersSettings
from services.notify.settings import NotifySettings
from shared.aggregate import Actor
from shared.auth import mint_token
from shared.events.members import MemberJoined
from shared.outbox.writer import OUTBOX
from shared.runtime import ServiceRuntime
from shared.timeutil import local_today
from shared.topics import ensure_topics

MEMBERS_TOPIC = "members.member"
STORED = 50_000  # documents already in the collection when the relay is measured
ACTOR = Actor("bench")
DEPARTMENTS = ["学前教育系", "艺术系", "音乐系", "体育部", "后勤处"]
MAIN_CAMPUS = CampusDefinition(name="主校区", departments=DEPARTMENTS)


class TopicSize:
    """Records on a topic (sum of end offsets), asked cheaply and often through one client."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.topic = topic
        self.consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap)

    async def __aenter__(self) -> TopicSize:
        await self.consumer.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.consumer.stop()

    async def __call__(self) -> int:
        partitions = self.consumer.partitions_for_topic(self.topic) or set()
        tps = [TopicPartition(self.topic, p) for p in sorted(partitions)]
        return sum((await self.consumer.end_offsets(tps)).values()) if tps else 0


@contextlib.asynccontextmanager
async def services(target: Target, tag: str, *names: str) -> AsyncIterator[list[ServiceRuntime]]:
    """Started runtimes of `names` on an isolated prefix; stopped and dropped afterwards."""
    from services.events.bootstrap import bootstrap as events_bootstrap
    from services.events.settings import EventsSettings
    from services.members.bootstrap import bootstrap as members_bootstrap
    from services.notify.bootstrap import bootstrap as notify_bootstrap
    from services.welfare.bootstrap import bootstrap as welfare_bootstrap
    from services.welfare.settings import WelfareSettings

    prefix = f"bench{target.run_id}.{tag}."
    await ensure_topics(target.kafka_bootstrap, prefix)
    base = (prefix, target.kafka_bootstrap, target.mongo_url)
    built = {
        "members": lambda: members_bootstrap(MembersSettings.isolated(*base), configure_logs=False),
        "events": lambda: events_bootstrap(EventsSettings.isolated(*base), configure_logs=False),
        "notify": lambda: notify_bootstrap(
            NotifySettings.isolated(*base, smtp_host=target.smtp_host, smtp_port=target.smtp_port),
            configure_logs=False,
        ),
        "welfare": lambda: welfare_bootstrap(WelfareSettings.isolated(*base), configure_logs=False),
    }
    runtimes: list[ServiceRuntime] = []
    try:
        for name in names:
            runtime = built[name]()
            await runtime.start()
            runtimes.append(runtime)
        for runtime in runtimes:  # not part of any figure: connecting and joining the group
            await wait_for(_connected(runtime), target.timeout_s, f"{runtime.service} on Kafka")
            if runtime.service == "members":  # enrolments check the campus and department
                await runtime.context.org.define("main", MAIN_CAMPUS, ACTOR)
        yield runtimes
    finally:
        for runtime in reversed(runtimes):
            await runtime.stop(drop_database=True)


def _connected(runtime: ServiceRuntime) -> Callable[[], Awaitable[bool]]:
    async def connected() -> bool:
        relay_up = runtime.relay.producer is not None
        return relay_up and (not runtime.consumer.topics or runtime.consumer.assigned.is_set())

    return connected


def _commands(n: int, tag: str) -> list[JoinMember]:
    return [
        JoinMember(
            staff_no=f"{tag}{i:06d}", name=f"王老师{i}", campus="main", department="学前教育系"
        )
        for i in range(n)
    ]


async def outbox_paths(target: Target) -> list[Measurement]:
    """The outbox writer, and the relay publishing next to 50,000 stored documents."""
    async with services(target, "outbox", "members") as [members]:
        coll = "bench_docs"
        # Already-published documents: what a year of changes leaves in a collection.
        filler = "x" * 800
        for start in range(0, STORED, 1000):
            batch = [{"_id": f"old-{i}", "payload": filler} for i in range(start, start + 1000)]
            await members.db[coll].insert_many(batch)
        t0 = clock()
        await members.db[coll].find({f"{OUTBOX}.0": {"$exists": True}}).to_list()
        scan_s = clock() - t0  # what the old relay paid on every wake

        async def write(i: int) -> None:
            event = sample_event(900)
            await members.outbox.insert(
                coll,
                {"_id": f"new-{i}", "payload": "x" * 100},
                [MemberJoined.model_validate(event.data)],
                subject=event.subject,
                campus="main",
            )

        topic = f"{members.settings.topic_prefix}{MEMBERS_TOPIC}"
        async with TopicSize(target.kafka_bootstrap, topic) as on_topic:
            started = clock()
            await bounded(target.concurrency, [partial(write, i) for i in range(target.n)])
            written = clock() - started

            async def all_published() -> bool:
                return await on_topic() >= target.n and members.relay.pending_events() == 0

            await wait_for(all_published, target.timeout_s, "every event on Kafka")
            published = clock() - started
        await wait_for(_no_markers(members), target.timeout_s, "the pending markers to go")
    where = f"{target.concurrency} in flight"
    return [
        Measurement(
            "outbox.write",
            "Outbox.insert: pending marker + document with its event",
            target.n,
            written,
            unit="writes",
            compare_to=("mongo.insert",),
            note=where,
        ),
        Measurement(
            "outbox.publish",
            f"… until all on Kafka, {STORED:,} documents stored",
            target.n,
            published,
            unit="events",
            compare_to=("kafka.produce", "mongo.insert"),
            note=f"one outbox.0 scan there: {scan_s * 1000:,.0f} ms (the old relay, per wake)",
        ),
    ]


def _no_markers(runtime: ServiceRuntime) -> Callable[[], Awaitable[bool]]:
    async def none_left() -> bool:
        return await runtime.relay.backlog() == 0

    return none_left


async def withdraw_paths(target: Target) -> list[Measurement]:
    """Changing aggregates: n distinct withdrawals, then bursts of 20 on one member."""
    async with services(target, "withdraw", "members") as [members]:
        registry = members.context.members
        today = local_today()
        people = [join(cmd, today) for cmd in _commands(target.n, "WD")]
        await bounded(target.concurrency, [partial(registry.enrol, m, ACTOR) for m in people])

        async def withdraw(member_id: str) -> bool:
            try:
                await registry.store.change(
                    member_id, lambda m: m.withdraw(today), ACTOR, "withdraw"
                )
                return True
            except Exception:
                return False

        started = clock()
        results = await bounded(target.concurrency, [partial(withdraw, m.id) for m in people])
        changed = clock() - started
        if not all(results):
            raise AssertionError("a withdrawal of a distinct member failed")

        async def views_caught_up() -> bool:
            return await registry.store.count({"version": 2}) >= target.n

        await wait_for(views_caught_up, target.timeout_s, "the list view to follow", 0.1)
        converged = clock() - started - changed

        bursts = max(1, min(target.n // 20, 50))
        fresh = [join(c, today) for c in _commands(bursts, "WC")]
        await bounded(target.concurrency, [partial(registry.enrol, m, ACTOR) for m in fresh])
        latencies: list[float] = []

        async def timed(member_id: str) -> bool:
            t0 = clock()
            ok = await withdraw(member_id)
            latencies.append((clock() - t0) * 1000)
            return ok

        started = clock()
        for m in fresh:
            winners = await asyncio.gather(*(timed(m.id) for _ in range(20)))
            if sum(winners) != 1:
                raise AssertionError(f"{sum(winners)} of 20 concurrent withdrawals won")
        contended = clock() - started
    return [
        Measurement(
            "aggregate.change",
            "withdraw n distinct members (read, decide, insert next version)",
            target.n,
            changed,
            unit="changes",
            compare_to=("mongo.insert",),
            note=f"{target.concurrency} in flight; list view caught up {converged:.2f} s later",
        ),
        Measurement(
            "aggregate.contended",
            "20 concurrent withdrawals of one member → 1 winner",
            bursts,
            contended,
            unit="bursts",
            note=(
                f"per request p50 {percentile(latencies, 50):.0f} ms, "
                f"p99 {percentile(latencies, 99):.0f} ms"
            ),
        ),
    ]


async def end_to_end(target: Target) -> tuple[list[Measurement], dict[str, float]]:
    """n members created over HTTP until notify holds n welcomes; then a steady 100/s."""
    async with services(target, "e2e", "notify", "members") as [notify, members]:
        http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=members.app), base_url="http://members", timeout=30
        )
        inbox = notify.db["inbox"]
        headers = {"Authorization": f"Bearer {mint_token('bench-cadre', ['cadre'], ['main'])}"}
        sent_at: dict[str, datetime] = {}

        async def create(cmd: JoinMember) -> None:
            at = datetime.now(UTC)
            response = await http.post("/members", json=cmd.model_dump(), headers=headers)
            if response.status_code != 201:
                raise AssertionError(f"POST /members: {response.status_code} {response.text}")
            sent_at[response.json()["id"]] = at

        async def arrived(count: int) -> None:
            async def enough() -> bool:
                return await inbox.count_documents({}) >= count

            await wait_for(enough, target.timeout_s, f"{count} welcomes in the inbox", 0.1)

        async def latencies_of(ids: set[str]) -> list[float]:
            return [
                (doc["created_at"] - sent_at[doc["member_id"]]).total_seconds() * 1000
                async for doc in inbox.find({}, {"member_id": 1, "created_at": 1})
                if doc["member_id"] in ids
            ]

        try:
            burst = _commands(target.n, "EE")
            started = clock()
            await bounded(target.concurrency, [partial(create, c) for c in burst])
            answered = clock() - started
            await arrived(target.n)
            finished = clock() - started
            burst_ids = set(sent_at)
            burst_lat = await latencies_of(burst_ids)

            # A steady 100 events/s, the load of a busy morning, for up to ten seconds.
            steady = _commands(min(target.n, 1000), "ST")
            tasks = []
            t0 = clock()
            for i, cmd in enumerate(steady):
                await asyncio.sleep(max(0.0, t0 + i / 100 - clock()))
                tasks.append(asyncio.create_task(create(cmd)))
            await asyncio.gather(*tasks)
            await arrived(target.n + len(steady))
            steady_lat = await latencies_of(set(sent_at) - burst_ids)
        finally:
            await http.aclose()
    stats = {
        "p50": percentile(burst_lat, 50),
        "p99": percentile(burst_lat, 99),
        "steady_p50": percentile(steady_lat, 50),
        "steady_p99": percentile(steady_lat, 99),
    }
    where = f"{target.concurrency} in flight"
    return [
        Measurement(
            "http.create",
            "POST /members → 201 (ASGI, token, validation, change log)",
            target.n,
            answered,
            unit="req",
            compare_to=("mongo.insert",),
            note=where,
        ),
        Measurement(
            "e2e",
            "POST /members → Kafka → notify inbox holds all",
            target.n,
            finished,
            unit="members",
            compare_to=("kafka.produce", "mongo.insert"),
            note=f"latency p50 {stats['p50']:.0f} ms, p99 {stats['p99']:.0f} ms",
        ),
        Measurement(
            "e2e.steady",
            "the same at a steady 100 requests/s",
            len(steady),
            len(steady) / 100,
            unit="members",
            note=(
                f"request → inbox p50 {stats['steady_p50']:.0f} ms, "
                f"p99 {stats['steady_p99']:.0f} ms"
            ),
        ),
    ], stats


__all__ = ["end_to_end", "outbox_paths", "withdraw_paths"]
