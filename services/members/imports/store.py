"""Import jobs in MongoDB: written once, claimed by unique keys, never updated.

- `imports`: the job (who, which options, the file's columns and problems, how many rows),
  inserted last when it is uploaded, so a job that exists has all its rows.
- `import_chunks`: the uploaded rows, `<job>#00003` per chunk of rows, sealed (they carry
  ID numbers and salaries, which are encrypted at rest everywhere) and bound to their job and
  chunk; deleted when the job ends (`drop_rows`), or by the sweep after `ROWS_KEEP` when
  nobody works them any more (a crash between the end and the delete, an upload that died).
- `import_results`: `<job>:<phase>:00003`, what the phase made of each row of chunk 3,
  inserted once by whoever finishes it first (the first result stands).
- `import_steps`: the work, as small claims. `<job>:<phase>:00003@2` is the second lease on
  a chunk (who holds it and until when: a holder that dies leaves a lease that runs out, as
  with scheduled jobs); `<job>:<phase>:00003` says the chunk is done (written after its
  result, so progress is read without the rows); `<job>:gate` is the all-or-nothing
  decision; `<job>:done` the end.
- `import_open`: one document per job not done yet, what a replica resumes after a restart;
  removed when the job is done (an extra one only makes a replica look and find it done).

Every key is derived from the job, the phase and the chunk, so two replicas working one job
(or one replica again after a crash) can repeat work but never record it twice; the members
themselves are keyed by their staff numbers (`member_id_for`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.members.imports.domain import RowResult, SourceRow
from shared.claims import claim_once
from shared.crypto import Sealer
from shared.mongo import find_by_ids
from shared.timeutil import utcnow

JOBS = "imports"
CHUNKS = "import_chunks"
STEPS = "import_steps"
RESULTS = "import_results"
OPEN = "import_open"

CHECK, WRITE = "check", "write"
ROWS_KEEP = timedelta(hours=3)  # an import takes minutes; rows nobody works are not kept


def chunk_key(job_id: str, n: int) -> str:
    return f"{job_id}#{n:05d}"


def step_key(job_id: str, phase: str, n: int) -> str:
    return f"{job_id}:{phase}:{n:05d}"


class ImportStore:
    def __init__(self, db: AsyncDatabase, sealer: Sealer) -> None:
        self.jobs = db[JOBS]
        self.chunks = db[CHUNKS]
        self.steps = db[STEPS]
        self.results_ = db[RESULTS]
        self.open = db[OPEN]
        self.sealer = sealer

    # -- upload -------------------------------------------------------------------------------

    async def create(self, job: dict[str, Any], chunks: Sequence[Sequence[SourceRow]]) -> None:
        """The rows first, then the open marker, then the job: a crash in between leaves rows
        nobody points at, or a marker without a job (dropped when found), never a job whose
        rows are missing or that nobody resumes."""
        docs = [
            {
                "_id": chunk_key(job["_id"], n),
                "job": job["_id"],
                "at": utcnow(),
                "rows": self.sealer.seal(
                    json.dumps([r.to_doc() for r in rows], default=str),
                    CHUNKS,
                    chunk_key(job["_id"], n),
                ),
            }
            for n, rows in enumerate(chunks)
        ]
        if docs:
            await self.chunks.insert_many(docs)
        await self.open.insert_one({"_id": job["_id"], "at": utcnow()})
        await self.jobs.insert_one(job)

    async def job(self, job_id: str) -> dict[str, Any] | None:
        return await self.jobs.find_one({"_id": job_id})

    async def rows(self, job_id: str, n: int) -> list[SourceRow]:
        doc = await self.chunks.find_one({"_id": chunk_key(job_id, n)})
        if doc is None:
            raise LookupError(f"chunk {n} of {job_id} is missing")
        return [
            SourceRow.from_doc(r)
            for r in json.loads(self.sealer.open(doc["rows"], CHUNKS, doc["_id"]))
        ]

    async def drop_rows(self, job_id: str) -> None:
        """The uploaded rows are not kept once the job has ended (the report stays)."""
        await self.chunks.delete_many({"job": job_id})

    async def sweep_rows(self, now: datetime) -> int:
        """Delete rows older than `ROWS_KEEP` that no open job will read again."""
        stale = {
            doc["job"]
            async for doc in self.chunks.find({"at": {"$lt": now - ROWS_KEEP}}, {"job": 1})
        }
        still_open = set(await find_by_ids(self.open, stale, {"_id": 1}))
        gone = list(stale - still_open)
        if not gone:
            return 0
        done = await self.chunks.delete_many({"job": {"$in": gone}})
        return done.deleted_count

    # -- claims ---------------------------------------------------------------------------------

    async def lease(self, job_id: str, phase: str, n: int, holder: str, lease_s: float) -> bool:
        """True when this holder may work the chunk now: nobody had it, or the last lease ran
        out (its holder died or stalled: working it again is safe, only wasteful)."""
        base, now = step_key(job_id, phase, n), utcnow()
        attempt = 1
        while True:
            claim = {
                "job": job_id,
                "holder": holder,
                "lease_until": now + timedelta(seconds=lease_s),
            }
            if await claim_once(self.steps, f"{base}@{attempt}", claim):
                return True
            held = await self.steps.find_one({"_id": f"{base}@{attempt}"}, {"lease_until": 1})
            if held is not None and held["lease_until"] > now:
                return False
            attempt += 1

    async def save(self, job_id: str, phase: str, n: int, rows: Sequence[RowResult]) -> bool:
        """The chunk's result (the first one written stands), then the mark that it is done.
        True when `rows` is the result that stands."""
        key = step_key(job_id, phase, n)
        doc = {
            "job": job_id,
            "phase": phase,
            "n": n,
            "rows": [r.model_dump(mode="json") for r in rows],
        }
        mine = await claim_once(self.results_, key, doc)
        mark = {"job": job_id, "phase": phase, "n": n, "count": len(rows)}
        await claim_once(self.steps, key, mark)
        return mine

    async def is_done(self, job_id: str, phase: str, n: int) -> bool:
        return (
            await self.steps.find_one({"_id": step_key(job_id, phase, n)}, {"_id": 1}) is not None
        )

    async def decide_once(self, job_id: str, name: str, doc: dict[str, Any]) -> dict[str, Any]:
        """`<job>:<name>` as the first writer decided it (the gate, the end)."""
        key = f"{job_id}:{name}"
        try:
            await self.steps.insert_one({"_id": key, "job": job_id, "at": utcnow(), **doc})
        except DuplicateKeyError:
            pass
        found = await self.steps.find_one({"_id": key})
        assert found is not None
        return found

    # -- reading the work -----------------------------------------------------------------------

    async def steps_of(self, job_id: str) -> list[dict[str, Any]]:
        """Every claim and mark of a job (progress, state): small documents, no rows."""
        return await self.steps.find({"_id": {"$regex": f"^{re.escape(job_id)}:"}}).to_list()

    async def results(
        self,
        job_id: str,
        phase: str,
        chunks: int,
        known: dict[int, list[RowResult]] | None = None,
    ) -> list[RowResult]:
        """Every row's result of a phase, in row order; `known` chunks are not read again."""
        found = dict(known or {})
        keys = [step_key(job_id, phase, n) for n in range(chunks) if n not in found]
        if keys:
            for doc in (await find_by_ids(self.results_, keys)).values():
                found[doc["n"]] = [RowResult.model_validate(r) for r in doc["rows"]]
        return [r for n in sorted(found) for r in found[n]]

    async def done_chunks(self, job_id: str, phase: str, chunks: int) -> set[int]:
        keys = [step_key(job_id, phase, n) for n in range(chunks)]
        return {d["n"] for d in (await find_by_ids(self.steps, keys, {"n": 1})).values()}

    # -- open jobs ------------------------------------------------------------------------------

    async def open_jobs(self) -> list[tuple[str, datetime]]:
        return [(d["_id"], d["at"]) async for d in self.open.find({})]

    async def close(self, job_id: str) -> None:
        await self.open.delete_one({"_id": job_id})
