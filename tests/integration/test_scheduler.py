"""Scheduled jobs on the real server: once per slot across replicas, taken over when a holder dies."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from pymongo import AsyncMongoClient

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
