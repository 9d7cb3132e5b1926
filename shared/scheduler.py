"""Scheduled background work that runs once per slot, however many replicas are running.

A job has a schedule (`Every(60)`, `DailyAt(7, 30)` in Asia/Shanghai, `MonthlyOn(1, 6)`) that
maps a moment to a *slot* (the minute bucket, the local date, the month). Every replica's
scheduler ticks; for each due slot it tries to claim it with a unique-key insert
(`<job>@<slot>#1`, atomic on FerretDB and MongoDB alike): one replica wins and runs the job,
the others skip. The claim carries a lease; a holder that dies mid-run leaves a claim whose
lease runs out, and the next tick anywhere claims attempt `#2` and runs the job again — so a
job must be idempotent (bills keyed by month and member, reminders keyed by event and
member). A finished run writes `<job>@<slot>#done`; nothing is ever updated.

A slot that was missed while every replica was down still runs at the next start (the daily
birthday run at 07:00 runs at 07:40 when the service came back at 07:40), because the slot of
"now" is still the day's slot until the next one begins.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from shared.telemetry import JOB_RUNS
from shared.timeutil import SHANGHAI, utcnow

log = logging.getLogger(__name__)

JOBS = "job_runs"


class Schedule(Protocol):
    def slot(self, now: datetime) -> str | None:
        """The slot `now` falls in, or None when the job is not due yet at `now`."""
        ...


@dataclass(frozen=True)
class Every:
    """Once per period of `seconds` (slots are aligned to the epoch)."""

    seconds: int

    def slot(self, now: datetime) -> str:
        return str(int(now.timestamp()) // self.seconds)


@dataclass(frozen=True)
class DailyAt:
    """Once a local (Asia/Shanghai) day, from hour:minute on."""

    hour: int
    minute: int = 0

    def slot(self, now: datetime) -> str | None:
        local = now.astimezone(SHANGHAI)
        if (local.hour, local.minute) < (self.hour, self.minute):
            return None
        return local.date().isoformat()


@dataclass(frozen=True)
class MonthlyOn:
    """Once a local month, from the given day and hour on (dues bills on the 1st, 06:00)."""

    day: int
    hour: int = 0

    def slot(self, now: datetime) -> str | None:
        local = now.astimezone(SHANGHAI)
        if (local.day, local.hour) < (self.day, self.hour):
            return None
        return f"{local.year:04d}-{local.month:02d}"


@dataclass(frozen=True)
class JobRun:
    """What a job is told about its run."""

    job: str
    slot: str
    attempt: int
    now: datetime


@dataclass
class Job:
    name: str
    schedule: Schedule
    run: Callable[[JobRun], Awaitable[None]]
    lease_s: float = 600.0  # longer than the job ever takes; then another replica takes over


@dataclass
class Scheduler:
    """Ticks every `tick_s`, runs due jobs once per slot across replicas."""

    service: str
    db: AsyncDatabase
    jobs: list[Job] = field(default_factory=list)
    tick_s: float = 15.0
    holder: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")
    clock: Callable[[], datetime] = utcnow
    _task: asyncio.Task[None] | None = None
    _running: asyncio.Task[None] | None = None
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    # job → (slot, until): its slot is done (until None) or held by a lease until then. A tick
    # asks the database nothing more about it meanwhile (a done slot stays done: nothing is
    # deleted); every job's slot was one read a tick, every tick, in every replica.
    _settled: dict[str, tuple[str, datetime | None]] = field(default_factory=dict)

    @property
    def coll(self) -> AsyncCollection:
        return self.db[JOBS]

    def add(self, job: Job) -> None:
        if any(j.name == job.name for j in self.jobs):
            raise ValueError(f"job {job.name} is declared twice")
        self.jobs.append(job)

    def start(self) -> None:
        if self.jobs:
            self._task = asyncio.create_task(self._loop(), name=f"scheduler-{self.service}")

    async def stop(self, timeout_s: float = 30.0) -> None:
        """No new runs; a run in progress may finish (bounded), else its lease lets it rerun."""
        self._stop.set()
        if self._task:
            try:
                await asyncio.wait_for(
                    asyncio.gather(self._task, return_exceptions=True), timeout_s
                )
            except TimeoutError:
                self._task.cancel()
                log.warning("a job was still running at shutdown; another start re-runs it")

    async def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                await self.tick()
            except Exception:
                log.exception("scheduler tick failed")
            try:
                await asyncio.wait_for(self._stop.wait(), self.tick_s)
            except TimeoutError:
                pass

    async def tick(self) -> list[str]:
        """Run every job that is due now and not run for its slot; returns what ran here."""
        ran = []
        for job in self.jobs:
            if self._stop.is_set():
                break
            now = self.clock()
            slot = job.schedule.slot(now)
            if slot is None or self._is_settled(job.name, slot, now):
                continue
            attempt = await self._claim(job, slot, now)
            if attempt is None:
                JOB_RUNS.labels(self.service, job.name, "skipped").inc()
                continue
            try:
                await job.run(JobRun(job.name, slot, attempt, now))
            except Exception:
                # The claim stays; when its lease runs out the next tick tries again.
                JOB_RUNS.labels(self.service, job.name, "failed").inc()
                log.exception("job %s for %s failed (attempt %d)", job.name, slot, attempt)
                self._settled[job.name] = (slot, now + timedelta(seconds=job.lease_s))
                continue
            await self._insert(f"{job.name}@{slot}#done", {"at": self.clock()})
            self._settled[job.name] = (slot, None)
            JOB_RUNS.labels(self.service, job.name, "ok").inc()
            ran.append(f"{job.name}@{slot}")
        return ran

    async def _claim(self, job: Job, slot: str, now: datetime) -> int | None:
        """The attempt number this replica won for the slot, or None (done / held by another)."""
        base = f"{job.name}@{slot}"
        if await self.coll.find_one({"_id": f"{base}#done"}, {"_id": 1}):
            self._settled[job.name] = (slot, None)
            return None
        attempt = 1
        while True:
            claim = {"holder": self.holder, "lease_until": now + timedelta(seconds=job.lease_s)}
            if await self._insert(f"{base}#{attempt}", claim):
                return attempt
            held = await self.coll.find_one({"_id": f"{base}#{attempt}"})
            if held is None:
                return None  # removed meanwhile (never happens: claims are not deleted)
            if held["lease_until"] > now:
                self._settled[job.name] = (slot, held["lease_until"])
                return None  # another replica is on it
            attempt += 1  # its holder died mid-run: the next attempt number is free to win

    def _is_settled(self, job: str, slot: str, now: datetime) -> bool:
        settled = self._settled.get(job)
        if settled is None or settled[0] != slot:
            return False
        until = settled[1]
        return until is None or now < until

    async def _insert(self, key: str, doc: dict) -> bool:
        try:
            await self.coll.insert_one({"_id": key, **doc})
            return True
        except DuplicateKeyError:
            return False


__all__ = ["DailyAt", "Every", "Job", "JobRun", "MonthlyOn", "Scheduler"]
