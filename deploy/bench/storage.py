"""`python -m deploy.bench.storage`: FerretDB on SQLite and on PostgreSQL, at school scale.

Loads N member-like documents (default 50,000) into one collection with the members
service's indexes (plus one on campus + status), through the same FerretDB binary, and measures what services do with it:
lookups by `_id` and by a secondary field (p50/p99 of one client asking in turn), counts, a
filtered sorted page, the outbox relay's scan, inserts (16 in flight, and insert_many), the
cold start and the memory. Variants:

    sqlite                 FerretDB's SQLite backend
    postgresql             PostgreSQL with the GIN twins (what the launcher runs)
    postgresql-no-twins    PostgreSQL with FerretDB's own btree indexes only

On PostgreSQL it also prints the plans FerretDB's own statements got (auto_explain with
ANALYZE, switched on only for that step), so the figures can be checked against what the
server did. After the load it runs VACUUM ANALYZE, as autovacuum does within a minute of a
bulk load, so lookups see a settled table.

The figures are timings of one machine: they belong in the README, never in `make test`.

    python -m deploy.bench.storage                       # all three, one run each
    python -m deploy.bench.storage --runs 3 --n 50000    # medians of three runs
    python -m deploy.bench.storage --variants postgresql --pools 4,8,16,50
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import math
import os
import platform
import random
import re
import shutil
import signal
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from pymongo import AsyncMongoClient
from pymongo.errors import OperationFailure

from deploy.bench.report import human_bytes, percentile
from deploy.local.infra import FerretDB, Postgres, free_port, prepare
from deploy.local.postgres import CLIENT_MAX_POOL_SIZE, POOL_MAX_CONNS, find_bin_dir
from deploy.local.prepare import FERRETDB_VERSION

CAMPUSES = ("main", "north", "south", "east")
STATUSES = (("active", 0.9), ("retired", 0.06), ("withdrawn", 0.04))
DEPARTMENTS = (
    "学前教育系",
    "艺术系",
    "数学系",
    "语文教研室",
    "后勤处",
    "图书馆",
    "体育部",
    "外语系",
)
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "芳静敏丽强磊军洋勇艳杰娟涛明超秀霞平刚桂"


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Variant:
    name: str
    backend: str  # "sqlite" | "postgresql"
    twins: bool = True
    pool: int = POOL_MAX_CONNS

    @property
    def label(self) -> str:
        if self.backend == "sqlite":
            return "SQLite"
        twins = "GIN twins" if self.twins else "no twins"
        return f"PostgreSQL, {twins}, pool {self.pool}"


def member_docs(n: int, seed: int = 1) -> list[dict[str, Any]]:
    """n documents shaped like the members service's (empty outbox, as after the relay)."""
    rnd = random.Random(seed)
    weights = [w for _, w in STATUSES]
    start = datetime(2026, 9, 1, tzinfo=UTC)
    docs = []
    for i in range(n):
        campus = CAMPUSES[i % len(CAMPUSES)]
        docs.append(
            {
                "_id": f"m-{uuid.UUID(int=rnd.getrandbits(128)).hex[:20]}",
                "staff_no": f"T{2000000 + i:07d}",
                "name": rnd.choice(SURNAMES) + rnd.choice(GIVEN) + rnd.choice(GIVEN),
                "campus": campus,
                "department": rnd.choice(DEPARTMENTS),
                "email": f"t{i}@school.local",
                "phone": f"1{rnd.randrange(3, 9)}{rnd.randrange(10**9):09d}",
                "status": rnd.choices([s for s, _ in STATUSES], weights)[0],
                "joined_on": (start.date() - timedelta(days=rnd.randrange(12000))).isoformat(),
                "enrolled_by": "cadre-1",
                "created_at": start + timedelta(seconds=i),
                "outbox": [],
            }
        )
    return docs


def chunks(items: list, size: int) -> Iterable[list]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


async def bounded(concurrency: int, jobs: list[Callable[[], Awaitable[Any]]]) -> None:
    gate = asyncio.Semaphore(concurrency)

    async def one(job: Callable[[], Awaitable[Any]]) -> None:
        async with gate:
            await job()

    await asyncio.gather(*(one(j) for j in jobs))


async def latencies_ms(
    ask: Callable[[Any], Awaitable[Any]], keys: list, most: int, budget_s: float
) -> list[float]:
    """One client asking in turn: up to `most` keys, or as many as fit in budget_s (≥ 10)."""
    out: list[float] = []
    deadline = time.perf_counter() + budget_s
    for key in keys[:most]:
        t0 = time.perf_counter()
        if await ask(key) is None:
            raise AssertionError(f"nothing found for {key!r}")
        out.append((time.perf_counter() - t0) * 1000)
        if len(out) >= 10 and time.perf_counter() > deadline:
            break
    return out


async def median_s(job: Callable[[], Awaitable[Any]], times: int = 5) -> tuple[float, Any]:
    results, seconds = None, []
    for _ in range(times):
        t0 = time.perf_counter()
        results = await job()
        seconds.append(time.perf_counter() - t0)
    return statistics.median(seconds), results


# --- memory ----------------------------------------------------------------------------------


def _status_kib(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def _pss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _tree(pid: int) -> list[int]:
    """pid and its direct children (PostgreSQL's postmaster and its backends)."""
    kids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if ppid == pid:
            kids.append(int(stat.parent.name))
    return [pid, *kids]


def memory(fdb: FerretDB, pg: Postgres | None) -> dict[str, str]:
    assert fdb.pid is not None
    out = {"FerretDB RSS": human_bytes(_status_kib(fdb.pid, "VmRSS") * 1024)}
    if pg is not None and pg.pid:
        pids = _tree(pg.pid)
        rss = sum(_status_kib(p, "VmRSS") for p in pids) * 1024
        pss = sum(_pss_kib(p) for p in pids) * 1024
        out["PostgreSQL"] = (
            f"{human_bytes(pss)} PSS ({human_bytes(rss)} RSS, {len(pids)} processes)"
        )
    return out


# --- one run ---------------------------------------------------------------------------------


@dataclass
class Result:
    variant: Variant
    figures: dict[str, float] = field(default_factory=dict)  # ms, s or /s
    notes: dict[str, str] = field(default_factory=dict)
    plans: list[str] = field(default_factory=list)


# auto_explain.log_min_duration stays at its default (-1, off) until the explain step.
AUTO_EXPLAIN = {
    "shared_preload_libraries": "auto_explain",
    "auto_explain.log_analyze": "on",
    "auto_explain.log_buffers": "off",
}


async def hot_updates(
    coll, total: int, concurrency: int, stall_s: float
) -> tuple[float, int] | None:
    """`total` $inc on one document, `concurrency` in flight: (rate, failed), or None when
    no update finished for `stall_s` seconds (a hang, not a slow server)."""
    done = failed = 0

    async def one() -> None:
        nonlocal done, failed
        try:
            await coll.update_one({"_id": "counter"}, {"$inc": {"taken": 1}})
        except OperationFailure:
            failed += 1
        done += 1

    t0 = time.perf_counter()
    burst = asyncio.gather(bounded(concurrency, [one for _ in range(total)]))
    seen, last_change = -1, time.perf_counter()
    while not burst.done():
        if done != seen:
            seen, last_change = done, time.perf_counter()
        elif time.perf_counter() - last_change > stall_s:
            burst.cancel()
            return None
        await asyncio.wait([burst], timeout=1)
    burst.result()
    return total / (time.perf_counter() - t0), failed


async def find_by(coll: Any, key: str, value: Any) -> Any:
    return await coll.find_one({key: value})


def temp_root() -> Path:
    root = Path(tempfile.mkdtemp(prefix="gonghui-storage-"))
    root.chmod(0o711)  # PostgreSQL may run as another user (root → postgres)
    return root


def read_from(path: Path, offset: int) -> str:
    with open(path, errors="replace") as f:
        f.seek(offset)
        return f.read()


async def run_one(variant: Variant, n: int, binary: Path, explain: bool, root: Path) -> Result:
    result = Result(variant)
    figures = result.figures
    pg: Postgres | None = None
    fdb: FerretDB | None = None
    client: AsyncMongoClient | None = None
    try:
        t0 = time.perf_counter()
        if variant.backend == "postgresql":
            pg = Postgres(
                root / "postgres",
                free_port(),
                gin_twins=variant.twins,
                pool_max_conns=variant.pool,
                extra_settings=AUTO_EXPLAIN,
            )
            pg.launch()
            await pg.wait_healthy(60)
            await pg.setup()
        fdb = FerretDB(root / "ferretdb", free_port(), binary, postgres=pg)
        fdb.launch()
        await fdb.wait_healthy(60)
        figures["cold start s"] = time.perf_counter() - t0

        # The same client on both backends: at most 8 connections, as the launcher's URL says
        # on PostgreSQL (deploy/local/postgres.py, CLIENT_MAX_POOL_SIZE).
        client = AsyncMongoClient(
            fdb.url,
            tz_aware=True,
            serverSelectionTimeoutMS=10000,
            maxPoolSize=CLIENT_MAX_POOL_SIZE,
        )
        coll = client["bench"]["members"]
        # The members service's indexes (services/members/store.py), and one it would declare
        # to count members by campus and status.
        await coll.create_index("staff_no", unique=True)
        await coll.create_index([("campus", 1), ("name", 1)])
        await coll.create_index([("campus", 1), ("status", 1)])

        docs = member_docs(n)
        t0 = time.perf_counter()
        for batch in chunks(docs, 1000):
            await coll.insert_many(batch)
        figures["insert_many /s"] = n / (time.perf_counter() - t0)
        if pg is not None:
            await pg.psql("VACUUM ANALYZE")

        rnd = random.Random(7)
        picks = rnd.sample(docs, min(300, n))
        ids = [d["_id"] for d in picks]
        staff = [d["staff_no"] for d in picks]
        for key, values, budget in (("_id", ids, 20), ("staff_no", staff, 30)):
            ms = await latencies_ms(partial(find_by, coll, key), values, 300, budget)
            figures[f"find_one {key} p50 ms"] = percentile(ms, 50)
            figures[f"find_one {key} p99 ms"] = percentile(ms, 99)
            result.notes[f"find_one {key} samples"] = str(len(ms))

        queries: dict[str, Callable[[], Awaitable[Any]]] = {
            "count campus s": lambda: coll.count_documents({"campus": "north"}),
            "count campus+status s": lambda: coll.count_documents(
                {"campus": "north", "status": "retired"}
            ),
            "page campus sorted s": lambda: (
                coll.find({"campus": "north"}).sort("staff_no").limit(20).to_list()
            ),
            # GET /members for a cadre of one campus: the scope is an $in (shared/auth.py).
            "page campus $in sorted s": lambda: (
                coll.find({"campus": {"$in": ["north"]}})
                .sort([("campus", 1), ("staff_no", 1)])
                .limit(20)
                .to_list()
            ),
            "outbox scan s": lambda: (
                coll.find({"outbox.0": {"$exists": True}}, {"outbox": 1}).limit(100).to_list()
            ),
            # The relay's clean-up after publishing a batch (shared/outbox/relay.py), and the same
            # as one update per document.
            "pullAll $in 10 s": lambda: coll.update_many(
                {"_id": {"$in": ids[:10]}}, {"$pullAll": {"outbox": [{"id": "sent"}]}}
            ),
            "pullAll 10 x _id s": lambda: asyncio.gather(
                *(
                    coll.update_one({"_id": i}, {"$pullAll": {"outbox": [{"id": "sent"}]}})
                    for i in ids[:10]
                )
            ),
        }
        for name, job in queries.items():
            figures[name], _ = await median_s(job, 3)

        fresh = member_docs(2000, seed=2)
        for i, d in enumerate(fresh):
            d["staff_no"] = f"N{i:07d}"
        t0 = time.perf_counter()
        await bounded(16, [partial(coll.insert_one, d) for d in fresh])
        figures["insert_one x16 /s"] = len(fresh) / (time.perf_counter() - t0)

        # A burst of updates on one document (a hot counter): FerretDB holds two pool
        # connections per update, so a pool no larger than the burst can hang for good; on
        # SQLite, updates queue for the one writer and some fail with "database is locked".
        await coll.insert_one({"_id": "counter", "taken": 0, "staff_no": "counter"})
        hot = await hot_updates(coll, total=200, concurrency=16, stall_s=30)
        if hot is None:
            figures["update_one hot x16 /s"] = float("nan")
            say("  16 concurrent updates stopped moving for 30 s (hung); rest of run skipped")
            return result
        figures["update_one hot x16 /s"], figures["update_one hot x16 /s failed"] = hot

        ids_again = ids[:200]
        t0 = time.perf_counter()
        await bounded(16, [partial(coll.find_one, {"_id": v}) for v in ids_again])
        figures["find_one _id x16 /s"] = len(ids_again) / (time.perf_counter() - t0)

        result.notes |= memory(fdb, pg)
        if pg is not None:
            size = await pg.psql(
                "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = 'bench' AND c.relkind = 'r'"
            )
            result.notes["on disk"] = human_bytes(int(size.strip() or 0)) + " (tables + indexes)"
            if explain:
                result.plans = await plans(pg, coll, ids[0], staff[0])
        else:
            files = (root / "ferretdb" / "sqlite").glob("bench.sqlite*")
            result.notes["on disk"] = human_bytes(sum(f.stat().st_size for f in files))
    finally:
        if client is not None:
            await client.close()
        if fdb is not None:
            await fdb.stop(20)
        if pg is not None:
            await pg.stop(20)
    return result


async def plans(pg: Postgres, coll, some_id: str, some_staff_no: str) -> list[str]:
    """The plans of FerretDB's own statements for the hot queries, from auto_explain."""
    start = pg.log_file.stat().st_size
    await pg.psql(
        "ALTER SYSTEM SET auto_explain.log_min_duration = 0;\nSELECT pg_reload_conf();", "postgres"
    )
    await asyncio.sleep(1)
    try:
        await coll.find_one({"_id": some_id})
        await coll.find_one({"staff_no": some_staff_no})
        await coll.count_documents({"campus": "north", "status": "retired"})
        await coll.find({"campus": "north"}).sort("staff_no").limit(20).to_list()
        await coll.find({"outbox.0": {"$exists": True}}, {"outbox": 1}).limit(100).to_list()
        await asyncio.sleep(1)
    finally:
        await pg.psql(
            "ALTER SYSTEM RESET auto_explain.log_min_duration;\nSELECT pg_reload_conf();",
            "postgres",
        )
    text = read_from(pg.log_file, start)
    entries = re.split(r"\n(?=\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ \w+ \[\d+\] )", text)
    return [
        re.sub(r"^\S+ \S+ \w+ \[\d+\] LOG:\s+", "", e).rstrip()
        for e in entries
        if "plan:" in e and '"bench"' in e
    ]


# --- report ----------------------------------------------------------------------------------

ROWS = [
    ("find_one _id p50 ms", '`find_one({"_id": …})` p50', "{:,.1f} ms"),
    ("find_one _id p99 ms", '`find_one({"_id": …})` p99', "{:,.1f} ms"),
    ("find_one staff_no p50 ms", '`find_one({"staff_no": …})` p50', "{:,.1f} ms"),
    ("find_one staff_no p99 ms", '`find_one({"staff_no": …})` p99', "{:,.1f} ms"),
    ("count campus s", '`count_documents({"campus": "north"})`', "{:,.2f} s"),
    (
        "count campus+status s",
        '`count_documents({"campus": "north", "status": "retired"})`',
        "{:,.2f} s",
    ),
    ("page campus sorted s", '`find({"campus": "north"}).sort("staff_no").limit(20)`', "{:,.2f} s"),
    (
        "page campus $in sorted s",
        '`find({"campus": {"$in": ["north"]}}).sort([("campus", 1), ("staff_no", 1)]).limit(20)`',
        "{:,.2f} s",
    ),
    ("outbox scan s", '`find({"outbox.0": {"$exists": true}}).limit(100)`', "{:,.2f} s"),
    ("pullAll $in 10 s", '`update_many({"_id": {"$in": [10 ids]}}, {"$pullAll": …})`', "{:,.2f} s"),
    ("pullAll 10 x _id s", 'the same as 10 × `update_one({"_id": …})`, together', "{:,.2f} s"),
    ("find_one _id x16 /s", "`find_one` by `_id`, 16 in flight", "{:,.0f}/s"),
    ("insert_one x16 /s", "`insert_one`, 16 in flight", "{:,.0f}/s"),
    ("update_one hot x16 /s", "`update_one` `$inc` on one document, 16 in flight", "{:,.0f}/s"),
    ("insert_many /s", "`insert_many`, batches of 1,000", "{:,.0f}/s"),
    ("cold start s", "cold start (initdb + start + createdb, FerretDB answers)", "{:,.1f} s"),
]


def table(results: dict[Variant, list[Result]], n: int) -> str:
    variants = list(results)
    head = f"| at {n:,} documents | " + " | ".join(v.label for v in variants) + " |"
    lines = [head, "| --- |" + " --- |" * len(variants)]
    for key, label, fmt in ROWS:
        cells = []
        for v in variants:
            values = [r.figures[key] for r in results[v] if key in r.figures]
            failed = [r.figures.get(f"{key} failed", 0) for r in results[v]]
            if any(math.isnan(x) for x in values):
                cells.append("**hung**")
            elif values:
                cell = fmt.format(statistics.median(values))
                if any(failed):
                    cell += f" ({int(statistics.median(failed))} of 200 failed)"
                cells.append(cell)
            else:
                cells.append("—")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    for v in variants:
        last = results[v][-1].notes
        last["samples"] = (
            f"{last.get('find_one _id samples')} / {last.get('find_one staff_no samples')}"
        )
    for note in ("on disk", "FerretDB RSS", "PostgreSQL", "samples"):
        cells = [results[v][-1].notes.get(note, "—") for v in variants]
        lines.append(f"| {note} (last run) | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.bench.storage", description=__doc__)
    parser.add_argument("--n", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--variants", default="sqlite,postgresql,postgresql-no-twins")
    parser.add_argument("--pools", default=str(POOL_MAX_CONNS), help="pool_max_conns values")
    parser.add_argument("--no-explain", action="store_true", help="skip the plans")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    variants: list[Variant] = []
    for name in args.variants.split(","):
        if name == "sqlite":
            variants.append(Variant("sqlite", "sqlite"))
        elif name in ("postgresql", "postgresql-no-twins"):
            for pool in (int(p) for p in args.pools.split(",")):
                variants.append(Variant(name, "postgresql", name == "postgresql", pool))
        else:
            parser.error(f"unknown variant {name!r}")
    backend = "postgresql" if any(v.backend == "postgresql" for v in variants) else "sqlite"
    paths = prepare(say=say, backend=backend)

    # `kill <pid>` stops it the way Ctrl-C does: through the finally blocks (servers, folders).
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    results: dict[Variant, list[Result]] = {v: [] for v in variants}
    for run in range(args.runs):
        for v in variants:
            say(f"run {run + 1}/{args.runs}: {v.label}, {args.n:,} documents …")
            t0 = time.perf_counter()
            root = temp_root()
            try:
                results[v].append(
                    asyncio.run(run_one(v, args.n, paths.ferretdb, not args.no_explain, root))
                )
            finally:  # also after Ctrl-C or `kill`, once the servers are stopped
                shutil.rmtree(root, ignore_errors=True)
            say(f"  done in {time.perf_counter() - t0:.0f} s")

    bin_dir = find_bin_dir()
    pg_version = (
        f", PostgreSQL {bin_dir.parent.name}" if backend == "postgresql" and bin_dir else ""
    )
    print(table(results, args.n))
    print()
    print(
        f"FerretDB {FERRETDB_VERSION}{pg_version}, {os.cpu_count()} CPU(s), "
        f"Python {platform.python_version()}; medians of {args.runs} run(s); lookups: one "
        "client asking in turn (samples per run: `_id` / `staff_no` in the last row)"
    )
    for v in variants:
        plans_ = results[v][-1].plans
        if plans_:
            print(f"\n### plans on {v.label} (auto_explain, last run)\n")
            print("```")
            print("\n\n".join(plans_))
            print("```")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
