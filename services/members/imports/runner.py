"""Working import jobs in the background, on any replica, across restarts.

A replica works the job it was handed an upload for at once, and every few seconds looks at
the jobs not done yet (`import_open`) and works those too: after a restart, or when the
replica that had it died. Work is taken a chunk at a time under a lease (a unique-key claim
with an expiry, `ImportStore.lease`), so two replicas share a job instead of both doing all
of it; a lease that runs out (its holder died mid-chunk) lets another replica do that chunk
again, which is safe because writing a chunk twice changes nothing the second time (see
`handlers`). The first result saved for a chunk is its result; the gate and the end of a job
are decided once the same way.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from dataclasses import dataclass
from typing import Any

from services.members.imports.domain import (
    CheckedRow,
    Outcome,
    RowResult,
    check_row,
    count,
    verdict,
)
from services.members.imports.handlers import (
    CHUNK_ROWS,
    check_chunk,
    context_of,
    phases,
    write_chunk,
)
from services.members.imports.store import CHECK, WRITE, ImportStore
from services.members.membership.store import MemberRegistry
from services.members.org.store import Organisation
from shared.aggregate import Actor
from shared.telemetry import trace_id_var
from shared.timeutil import utcnow

log = logging.getLogger(__name__)


class _Stopping(Exception):
    pass


class ImportRunner:
    """The members service's import worker (`ServiceRuntime.run_worker`)."""

    def __init__(
        self,
        store: ImportStore,
        members: MemberRegistry,
        org: Organisation,
        *,
        lease_s: float = 60.0,
        resume_s: float = 5.0,
        poll_s: float = 0.5,
    ) -> None:
        self.store = store
        self.members = members
        self.org = org
        self.lease_s = lease_s  # longer than a chunk ever takes; then another replica may
        self.resume_s = resume_s
        self.poll_s = poll_s
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._loop: asyncio.Task[None] | None = None
        self._stopping = False
        # What this replica worked out itself, so the gate and the end need not read it back:
        # (job, phase) → chunk → its rows' results. Dropped when the job is done here.
        self._mine: dict[tuple[str, str], dict[int, list[Any]]] = {}
        # Rows this replica checked for a commit that writes next: the write phase uses the
        # very rows its gate approved instead of checking them a second time (elsewhere, or
        # after a restart, the write phase checks them itself).
        self._checked: dict[tuple[str, int], list[CheckedRow]] = {}

    # -- life cycle -----------------------------------------------------------------------------

    def start(self) -> None:
        self._stopping = False
        self._loop = asyncio.create_task(self._resume_loop(), name="imports-resume")

    async def stop(self, timeout_s: float = 10.0) -> None:
        """Stop taking chunks; a chunk in hand may finish (bounded), else its lease runs out
        and whoever works the job next does it again."""
        self._stopping = True
        tasks = [t for t in [self._loop, *self._tasks.values()] if t is not None]
        if self._loop is not None:
            self._loop.cancel()
        _, pending = await asyncio.wait(tasks, timeout=timeout_s) if tasks else (set(), set())
        for task in pending:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()

    def kick(self, job_id: str) -> asyncio.Task[None] | None:
        """Work the job here (unless this replica already is)."""
        if self._stopping:
            return None
        task = self._tasks.get(job_id)
        if task is None or task.done():
            task = asyncio.create_task(self._run_logged(job_id), name=f"import-{job_id}")
            self._tasks[job_id] = task
            task.add_done_callback(lambda t: self._forget(job_id, t))
        return task

    def _forget(self, job_id: str, task: asyncio.Task[None]) -> None:
        if self._tasks.get(job_id) is task:
            del self._tasks[job_id]

    async def _resume_loop(self) -> None:
        while not self._stopping:
            try:
                for job_id, since in await self.store.open_jobs():
                    if await self.store.job(job_id) is None:
                        # A marker whose job was never inserted (a crash during the upload).
                        if (utcnow() - since).total_seconds() > 60:
                            await self.store.close(job_id)
                        continue
                    self.kick(job_id)
            except Exception:
                log.exception("looking for unfinished imports failed; trying again")
            await asyncio.sleep(self.resume_s)

    async def _run_logged(self, job_id: str) -> None:
        try:
            await self.run(job_id)
        except _Stopping:
            log.info("import %s paused by shutdown; it resumes on a running replica", job_id)
        except Exception:
            log.exception("import %s failed here; another try resumes it", job_id)
        finally:
            for key in [k for k in self._checked if k[0] == job_id]:
                del self._checked[key]  # the gate said no, or the work stopped here

    # -- a job ----------------------------------------------------------------------------------

    async def run(self, job_id: str) -> None:
        """Work the job to its end (with whoever else works it) and record the end once."""
        job = await self.store.job(job_id)
        if job is None:
            return
        trace_id_var.set(job["trace"])  # this task's logs and events carry the upload's trace
        report_phase: str | None = None
        for phase in phases(job):
            await self._phase(job, phase)
            report_phase = phase
            if phase == CHECK and job["commit"]:
                checked = await self._results(job_id, CHECK, job["chunks"])
                refused = sum(1 for r in checked if r.outcome is Outcome.refused)
                gate = await self.store.decide_once(
                    job_id, "gate", {"write": refused == 0, "refused": refused}
                )
                if not gate["write"]:
                    break  # all or nothing: one refused row, and nothing is written
        results = await self._results(job_id, report_phase, job["chunks"]) if report_phase else []
        counts = count(results)
        written = report_phase == WRITE
        said = verdict(counts, job["commit"], written, job["file_ok"])
        await self.store.decide_once(
            job_id,
            "done",
            {
                "phase": report_phase,
                "counts": counts.model_dump(),
                "written": written,
                "summary": said.summary,
            },
        )
        await self.store.close(job_id)
        await self.store.drop_rows(job_id)  # the report stays; the uploaded rows do not
        for phase in (CHECK, WRITE):
            self._mine.pop((job_id, phase), None)

    async def _results(self, job_id: str, phase: str, chunks: int) -> list[Any]:
        return await self.store.results(job_id, phase, chunks, self._mine.get((job_id, phase)))

    async def _phase(self, job: dict[str, Any], phase: str) -> None:
        job_id, chunks = job["_id"], job["chunks"]
        while True:
            done = await self.store.done_chunks(job_id, phase, chunks)
            todo = [n for n in range(chunks) if n not in done]
            if not todo:
                return
            worked = False
            for n in todo:
                if self._stopping:
                    raise _Stopping
                if not await self.store.lease(job_id, phase, n, self.holder, self.lease_s):
                    continue  # another replica is on it
                if await self.store.is_done(job_id, phase, n):
                    continue  # finished meanwhile by whoever held it before
                results = await self.work(job, phase, n)
                if await self.store.save(job_id, phase, n, results):
                    self._mine.setdefault((job_id, phase), {})[n] = results
                worked = True
            if not worked:
                # Everything left is someone else's for now: wait for their results, or for
                # their leases to run out.
                await asyncio.sleep(self.poll_s)

    async def work(self, job: dict[str, Any], phase: str, n: int) -> list[RowResult]:
        key = (job["_id"], n)
        rows = await self.store.rows(job["_id"], n)
        ctx = await context_of(job, self.org, rows, self.members.school_campus)
        if phase == WRITE and key in self._checked:
            checked = self._checked.pop(key)
        else:
            checked = [check_row(r, ctx) for r in rows]
        if phase == CHECK:
            if WRITE in phases(job):
                self._checked[key] = checked
            return await check_chunk(checked, ctx, self.members)
        actor = Actor(job["by"], job["trace"])
        return await write_chunk(checked, ctx, self.members, actor)


@dataclass
class ImportWork:
    """Bulk import (新教师入会): the jobs, the worker that works them, rows per chunk."""

    store: ImportStore
    runner: ImportRunner
    chunk_rows: int = CHUNK_ROWS
