"""Scheduled jobs on the real server: once per slot across replicas, taken over when a holder dies."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from pymongo import AsyncMongoClient
from pymongo.monitoring import CommandListener

from shared.scheduler import JOBS, DailyAt, Job, JobRun, Scheduler

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 27, 0, 30, tzinfo=UTC)  # 08:30 in Asia/Shanghai


@pytest.fixture
async def db(infra):
    client: AsyncMongoClient = AsyncMongoClient(infra.mongo_url, tz_aware=True)
    database = client[f"jobs_{uuid.uuid4().hex[:8]}"]
    try:
        yield database
    finally:
        await client.drop_database(database.name)
        await client.close()


def replica(db, name: str, runs: list, clock=lambda: NOW, fail: bool = False) -> Scheduler:
    async def birthday_run(run: JobRun) -> None:
        runs.append((name, run.slot, run.attempt))
        await asyncio.sleep(0.05)  # long enough for the other replicas to try meanwhile
        if fail:
            raise RuntimeError("SMTP down")

    scheduler = Scheduler("t", db, holder=name, clock=clock)
    scheduler.add(Job("birthdays", DailyAt(7, 0), birthday_run, lease_s=60))
    return scheduler


async def test_five_replicas_ticking_at_once_run_the_days_job_once(db):
    runs: list = []
    replicas = [replica(db, f"r{i}", runs) for i in range(5)]
    ran = await asyncio.gather(*(r.tick() for r in replicas))
    assert runs == [(runs[0][0], "2026-11-27", 1)]
    assert sum(len(r) for r in ran) == 1
    assert await db[JOBS].find_one({"_id": "birthdays@2026-11-27#done"})
    assert await replicas[0].tick() == []  # and not again that day


async def test_a_holder_that_died_mid_run_is_taken_over_when_its_lease_runs_out(db):
    runs: list = []
    # r1 claimed the slot and died: its claim is there, no `done`, the lease still runs.
    await db[JOBS].insert_one(
        {
            "_id": "birthdays@2026-11-27#1",
            "holder": "r1",
            "lease_until": NOW + timedelta(seconds=60),
        }
    )
    assert await replica(db, "r2", runs).tick() == []  # r1 might still be working
    later = replica(db, "r2", runs, clock=lambda: NOW + timedelta(seconds=61))
    assert await later.tick() == ["birthdays@2026-11-27"]
    assert runs == [("r2", "2026-11-27", 2)]


async def test_a_failed_run_is_tried_again_after_its_lease_not_before(db):
    runs: list = []
    assert await replica(db, "r1", runs, fail=True).tick() == []
    assert await replica(db, "r2", runs).tick() == []  # the failed claim still holds
    retry = replica(db, "r2", runs, clock=lambda: NOW + timedelta(minutes=2))
    assert await retry.tick() == ["birthdays@2026-11-27"]
    assert [attempt for _, _, attempt in runs] == [1, 2]


async def test_not_due_before_its_local_time(db):
    runs: list = []
    early = replica(db, "r1", runs, clock=lambda: datetime(2026, 11, 26, 22, 0, tzinfo=UTC))
    assert await early.tick() == []  # 06:00 in Shanghai: the 07:00 job waits
    assert runs == []


class Reads(CommandListener):
    """The commands a client sends to the job collection (pymongo's command monitoring)."""

    def __init__(self) -> None:
        self.commands: list[str] = []

    def started(self, event) -> None:
        if event.command.get(event.command_name) == JOBS:
            self.commands.append(event.command_name)

    def succeeded(self, event) -> None: ...

    def failed(self, event) -> None: ...


async def test_a_slot_done_or_held_is_not_asked_about_again_until_it_changes(infra, db):
    reads = Reads()
    client: AsyncMongoClient = AsyncMongoClient(
        infra.mongo_url, tz_aware=True, event_listeners=[reads]
    )
    watched = client[db.name]
    try:
        runs: list = []
        now = [NOW]
        held = replica(watched, "r1", runs, clock=lambda: now[0])
        assert await held.tick() == ["birthdays@2026-11-27"]
        reads.commands.clear()
        assert await held.tick() == [] and reads.commands == []  # done: known here
        # Another replica finds the slot done once, then stops asking.
        other = replica(watched, "r2", runs, clock=lambda: now[0])
        assert await other.tick() == [] and reads.commands == ["find"]
        assert await other.tick() == [] and reads.commands == ["find"]
        # The next day is a new slot: asked about, claimed and run.
        now[0] = NOW + timedelta(days=1)
        assert await held.tick() == ["birthdays@2026-11-28"] and len(runs) == 2
        # A claim held by another replica's lease is not asked about until the lease ends.
        await db[JOBS].insert_one(
            {
                "_id": "birthdays@2026-11-29#1",
                "holder": "r9",
                "lease_until": now[0] + timedelta(days=1, seconds=60),
            }
        )
        now[0] = NOW + timedelta(days=2)
        reads.commands.clear()
        assert await other.tick() == [] and len(reads.commands) == 3  # done? claim; held
        assert await other.tick() == [] and len(reads.commands) == 3
        now[0] = NOW + timedelta(days=2, seconds=61)
        assert await other.tick() == ["birthdays@2026-11-29"]
        assert runs[-1] == ("r2", "2026-11-29", 2)
    finally:
        await client.close()
