"""Failure drills an operator runs by hand (not part of `make test`: minutes, and timing-bound).

    python -m deploy.drill kafka-cluster [--members 600] [--concurrency 8] [--keep]

kafka-cluster: a three-broker KRaft cluster (deploy/local/kafka.py KafkaCluster, the same jars as
`make run`), FerretDB and the SMTP catcher, and the members and notify services as processes
(`uvicorn services.<name>.main:app`, as the launcher runs them) with
GONGHUI_KAFKA_REPLICATION_FACTOR=3. It enrols N members over HTTP (POST /members with an
admin token), kills the broker that leads partition 0 of `members.member` (SIGKILL, a crash)
when half of them are answered, waits for the events to settle and reports:

    answered   POST /members answered 201 (other answers are listed)
    stored     members in members' change log, and writes whose events still wait (outbox_pending)
    published  distinct event ids on members.member (records beyond that are duplicates)
    delivered  welcome notices in notify's inbox (one per event: the handler is idempotent)

plus the request latency, whether members' /readyz ever said 503, and how many aiokafka
lines the two services logged. Exit code 0 when every figure equals N and nothing was
published twice. Data and logs go to a temporary folder, kept with --keep (or on failure).
Needs what `make run` needs (Java, and the cache GONGHUI_LOCAL_CACHE points at).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from pymongo import AsyncMongoClient

from deploy.local.infra import (
    HOST,
    FerretDB,
    InfraError,
    PrerequisiteError,
    SmtpCatcher,
    free_port,
    prepare,
)
from deploy.local.kafka import KafkaCluster
from deploy.local.launcher import Service
from shared.lognoise import install_rate_limit, stop_rate_limit
from shared.topics import ensure_topics, partitions_of, replication_of

REPLICATION = 3
TOPIC = "members.member"


def say(message: str = "") -> None:
    print(message, flush=True)


@dataclass
class Figures:
    """What the drill counts while it runs."""

    answers: Counter = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    event_ids: set[str] = field(default_factory=set)
    records: int = 0
    readiness: list[tuple[float, bool]] = field(default_factory=list)  # (monotonic, ready)


class Published:
    """Reads members.member from the beginning (no group) and counts the events on it."""

    def __init__(self, bootstrap: str, figures: Figures) -> None:
        self.bootstrap = bootstrap
        self.figures = figures
        self.task: asyncio.Task | None = None

    async def start(self) -> None:
        consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, enable_auto_commit=False)
        await consumer.start()
        partitions = await partitions_of(self.bootstrap, TOPIC)
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        self.task = asyncio.create_task(self._read(consumer))

    async def _read(self, consumer: AIOKafkaConsumer) -> None:
        try:
            while True:
                batch = await consumer.getmany(timeout_ms=500)
                for records in batch.values():
                    for record in records:
                        self.figures.records += 1
                        self.figures.event_ids.add(json.loads(record.value)["id"])
        finally:
            await consumer.stop()

    async def stop(self) -> None:
        if self.task:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task


async def enrol(members_url: str, count: int, concurrency: int, figures: Figures, halfway):
    """POST `count` members; `halfway()` runs once when half of them are answered."""
    from deploy.local.demo.client import admin_token

    run = uuid.uuid4().hex[:6].upper()
    headers = {"Authorization": f"Bearer {admin_token()}"}
    gate = asyncio.Semaphore(concurrency)
    answered = 0
    half = asyncio.Event()

    async def one(client: httpx.AsyncClient, i: int) -> None:
        nonlocal answered
        body = {
            "staff_no": f"D{run}-{i:05d}",
            "name": f"演练{i}",
            "campus": "main" if i % 2 else "north",
            "department": "演练部",
            "email": f"drill{i}@school.local",
        }
        async with gate:
            t0 = time.monotonic()
            try:
                response = await client.post("/members", json=body, headers=headers)
                figures.answers[response.status_code] += 1
            except httpx.HTTPError as exc:
                figures.answers[type(exc).__name__] += 1
            figures.latencies.append(time.monotonic() - t0)
        answered += 1
        if answered * 2 >= count and not half.is_set():
            half.set()

    async with httpx.AsyncClient(base_url=members_url, timeout=60) as client:
        requests = asyncio.gather(*(one(client, i) for i in range(count)))
        await half.wait()
        await halfway()
        await requests


async def sample_readiness(members_url: str, figures: Figures) -> None:
    async with httpx.AsyncClient(base_url=members_url, timeout=5) as client:
        while True:
            try:
                ready = (await client.get("/readyz")).status_code == 200
            except httpx.HTTPError:
                ready = False
            figures.readiness.append((time.monotonic(), ready))
            await asyncio.sleep(0.5)


def readiness(samples: list[tuple[float, bool]], kill_at: float) -> str:
    unready = [t - kill_at for t, ready in samples if not ready]
    if not unready:
        return f"200 in all {len(samples)} samples"
    return (
        f"503 or no answer in {len(unready)} of {len(samples)} samples, from "
        f"{unready[0]:+.1f}s to {unready[-1]:+.1f}s after the kill"
    )


async def counts(mongo_url: str) -> tuple[int, int, int]:
    """(members stored, writes whose events wait in members' outbox, notices in the inbox)."""
    client: AsyncMongoClient = AsyncMongoClient(mongo_url, serverSelectionTimeoutMS=10000)
    try:
        members = client["gonghui_members"]
        stored = await members["members_changes"].count_documents({"version": 1})
        backlog = await members["outbox_pending"].count_documents({})
        inbox = await client["gonghui_notify"]["inbox"].count_documents({})
        return stored, backlog, inbox
    finally:
        await client.close()


def aiokafka_lines(log_dir: Path) -> Counter:
    """aiokafka log lines per service and level, from the services' JSON logs."""
    lines: Counter = Counter()
    for name in ("members", "notify"):
        path = log_dir / f"{name}.log"
        for line in path.read_text(errors="replace").splitlines() if path.exists() else []:
            with contextlib.suppress(ValueError):
                entry = json.loads(line)  # uvicorn's own lines are not JSON
                if isinstance(entry, dict) and str(entry.get("logger")).startswith("aiokafka"):
                    lines[(name, entry.get("level"))] += 1
    return lines


async def kill_partition_leader(cluster: KafkaCluster) -> int:
    """SIGKILL the broker leading partition 0 of members.member (a crash, no controlled
    shutdown): its partitions must move to another replica. Returns its node id."""
    admin = AIOKafkaAdminClient(bootstrap_servers=cluster.bootstrap)
    await admin.start()
    try:
        [described] = await admin.describe_topics([TOPIC])
    finally:
        await admin.close()
    leader = next(p["leader"] for p in described["partitions"] if p["partition"] == 0)
    proc = cluster.node(leader).proc
    assert proc is not None, "the leader's broker is not running"
    proc.kill()
    return leader


@dataclass
class Settled:
    stored: int
    backlog: int
    inbox: int
    reached: dict[str, float]  # seconds after the kill when the figure first reached N


async def settle(mongo_url: str, figures: Figures, n: int, kill_at: float, timeout_s: float):
    """Wait until the outbox is empty and every stored member is published and delivered."""
    deadline = time.monotonic() + timeout_s
    reached: dict[str, float] = {}
    while True:
        stored, backlog, inbox = await counts(mongo_url)
        for what, value in (("published", len(figures.event_ids)), ("delivered", inbox)):
            if value >= n:
                reached.setdefault(what, time.monotonic() - kill_at)
        done = backlog == 0 and len(figures.event_ids) == stored and inbox == stored
        if done or time.monotonic() > deadline:
            return Settled(stored, backlog, inbox, reached)
        await asyncio.sleep(0.5)


async def kafka_cluster(args: argparse.Namespace, root: Path) -> bool:
    paths = prepare(say=say)
    logs = root / "logs"
    cluster = KafkaCluster(root / "kafka", paths.kafka_libs)
    ferretdb = FerretDB(root / "ferretdb", free_port(), paths.ferretdb, log_dir=logs)
    smtp = SmtpCatcher(root / "mail", free_port(), log_dir=logs)
    services: list[Service] = []
    figures = Figures()
    published = Published(cluster.bootstrap, figures)
    sampler: asyncio.Task | None = None
    try:
        say(f"启动 3 个 broker、FerretDB 和 SMTP / starting 3 brokers, FerretDB, SMTP in {root}")
        t0 = time.monotonic()
        await asyncio.gather(cluster.start(), ferretdb.start(), smtp.start(30))
        await ensure_topics(cluster.bootstrap, replication=REPLICATION)
        # each broker learns of new topics a moment later: asked until all answer
        present = await replication_of(cluster.bootstrap, timeout_s=20, all_exist=True)
        if TOPIC not in present:
            raise InfraError(f"{TOPIC} was created but no broker describes it")
        say(
            f"  ready in {time.monotonic() - t0:.0f}s; {TOPIC}: {present[TOPIC].replicas} "
            f"replicas, min.insync.replicas {present[TOPIC].min_insync}"
        )
        env = {
            **os.environ,
            "GONGHUI_KAFKA_BOOTSTRAP": cluster.bootstrap,
            "GONGHUI_KAFKA_REPLICATION_FACTOR": str(REPLICATION),
            "GONGHUI_MONGO_URL": ferretdb.url,
            "GONGHUI_SMTP_HOST": HOST,
            "GONGHUI_SMTP_PORT": str(smtp.port),
        }
        services = [Service(name, free_port(), logs, env) for name in ("members", "notify")]
        for service in services:
            service.launch()
        await asyncio.gather(*(s.wait_healthy(90) for s in services))
        await published.start()
        sampler = asyncio.create_task(sample_readiness(services[0].url, figures))

        kill_at = 0.0

        async def halfway() -> None:
            nonlocal kill_at
            node = await kill_partition_leader(cluster)
            kill_at = time.monotonic()
            answered = sum(figures.answers.values())
            say(f"  {answered} answered: killed broker {node} (SIGKILL), leader of {TOPIC}-0")

        say(f"入会 {args.members} 人 / enrolling {args.members} members …")
        t0 = time.monotonic()
        await enrol(services[0].url, args.members, args.concurrency, figures, halfway)
        say(f"  all answered in {time.monotonic() - t0:.1f}s; waiting for the events …")
        end = await settle(ferretdb.url, figures, args.members, kill_at, args.settle)
    finally:
        if sampler:
            sampler.cancel()
        await published.stop()
        stop_rate_limit()  # the drill reader's pending summaries, before the report
        await asyncio.gather(*(s.stop(30) for s in services))
        await asyncio.gather(cluster.stop(), ferretdb.stop(), smtp.stop())
    return report(args.members, figures, end, kill_at, aiokafka_lines(logs), args.settle)


def report(
    n: int, figures: Figures, end: Settled, kill_at: float, noise: Counter, settle_s: float
) -> bool:
    created = figures.answers.get(201, 0)
    others = {k: v for k, v in figures.answers.items() if k != 201}
    published = len(figures.event_ids)
    lat = sorted(figures.latencies)
    rows = [
        ("answered 201", f"{created} / {n}" + (f"  others: {others}" if others else "")),
        ("stored", f"{end.stored}  (still in the outbox: {end.backlog})"),
        ("published", f"{published} distinct event ids in {figures.records} records"),
        ("delivered", f"{end.inbox} welcome notices in notify's inbox"),
        (
            "request latency",
            f"p50 {statistics.median(lat) * 1000:.0f} ms, "
            f"p99 {lat[int(len(lat) * 0.99) - 1] * 1000:.0f} ms, max {lat[-1] * 1000:.0f} ms",
        ),
        (
            "all N reached",
            ", ".join(f"{what} {at:+.1f}s" for what, at in end.reached.items()) + " after the kill"
            if end.reached
            else f"not within {settle_s:.0f}s",
        ),
        ("members /readyz", readiness(figures.readiness, kill_at)),
        (
            "aiokafka log lines",
            ", ".join(f"{name} {lvl}: {c}" for (name, lvl), c in sorted(noise.items())) or "none",
        ),
    ]
    say("\n" + "\n".join(f"  {k:<20}{v}" for k, v in rows))
    ok = created == end.stored == published == end.inbox == n and figures.records == published
    say(
        "\n演练通过 / drill passed: every enrolment answered, stored, published once, delivered once."
        if ok
        else "\n演练未通过 / drill FAILED: the figures above differ (see the logs)."
    )
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m deploy.drill",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("drill", choices=["kafka-cluster"])
    parser.add_argument(
        "--members", type=lambda v: max(2, int(v)), default=600, help="members to enrol (600)"
    )
    parser.add_argument("--concurrency", type=int, default=8, help="requests at once (8)")
    parser.add_argument(
        "--settle", type=float, default=180, help="seconds to wait for the events to settle"
    )
    parser.add_argument("--keep", action="store_true", help="keep the data and logs folder")
    args = parser.parse_args(argv)
    # The drill's own Kafka reader sees the broker die too: the same limiter as the services.
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("  (drill reader) %(levelname)s %(name)s: %(message)s"))
    logging.getLogger("aiokafka").addHandler(handler)
    logging.getLogger("aiokafka").propagate = False
    install_rate_limit(handler)
    root = Path(tempfile.mkdtemp(prefix="gonghui-drill-"))
    ok = False
    try:
        ok = asyncio.run(kafka_cluster(args, root))
    except (InfraError, PrerequisiteError) as exc:
        say(f"演练无法进行 / the drill could not run: {exc}")
    except KeyboardInterrupt:
        say("已中断 / interrupted")
    finally:
        if args.keep or not ok:
            say(f"数据与日志 / data and logs: {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
